#!/usr/bin/env bash
# Packs the capture benchmark so that it runs from a copy on another machine
# where nothing of ours is installed (a GPU box): livestream-bench and
# demo-dodge (stripped), the demo's sounds, the shared libraries they load
# that are not glibc or the compiler runtime (ALSA, and the Vulkan loader,
# which wgpu opens at run time), and run.sh, which finds that machine's
# Vulkan driver and runs the capture and IPC probes.
#
#   scripts/bench-bundle.sh [--bin-dir DIR] [--archive] OUT
#     --bin-dir DIR  take the binaries built in DIR instead of building them
#     --archive      also write OUT.tar.xz (what to copy over)
#   then, there:     OUT/run.sh [livestream-bench arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh

usage() { sed -n '/^#   /s/^#//p' "$0" >&2; exit 2; }
bin_dir='' archive='' out=''
while (($#)); do
  case $1 in
    --bin-dir) [[ $# -ge 2 ]] || usage; bin_dir=$2; shift 2 ;;
    --archive) archive=1; shift ;;
    -*) usage ;;
    *) [[ -z $out ]] || usage; out=$1; shift ;;
  esac
done
[[ -n $out ]] || usage
if [[ -z $bin_dir ]]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(target_dir)}
  build_binaries
  bin_dir=$(target_dir)/debug
fi

rm -rf "$out"
mkdir -p "$out/bin/assets" "$out/lib"
for binary in livestream-bench demo-dodge; do
  strip -o "$out/bin/$binary" "$bin_dir/$binary"
done
cp -r assets/sounds "$out/bin/assets/"
cp scripts/lib/bench-bundle-run.sh "$out/run.sh"

loader=$(ldconfig -p | awk '$1 == "libvulkan.so.1" && /x86-64/ && !found { print $NF; found = 1 }')
[[ -n $loader ]] || { echo "bench-bundle: no Vulkan loader (libvulkan.so.1); run scripts/setup.sh" >&2; exit 1; }
# Every library the binaries and the loader need, by the name they ask for,
# but glibc's and libgcc_s: the other machine's own must serve its driver too.
ldd "$out"/bin/livestream-bench "$out"/bin/demo-dodge "$loader" |
  awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
  grep -Ev '^(ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil|libgcc_s)[.-]' |
  sort -u |
  while read -r name path; do cp -L "$path" "$out/lib/$name"; done
cp -L "$loader" "$out/lib/libvulkan.so.1"

if [[ -n $archive ]]; then
  XZ_OPT=-T0 tar -C "$(dirname "$out")" -cJf "$out.tar.xz" "$(basename "$out")"
fi
du -sh "$out" ${archive:+"$out.tar.xz"} >&2
