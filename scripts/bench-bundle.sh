#!/usr/bin/env bash
# Packs the capture benchmark so that it runs from a copy on another machine
# where nothing of ours is installed (a GPU box): livestream-bench and
# demo-dodge (stripped; its sounds are built in), the shared libraries they load
# that are not glibc or the compiler runtime (ALSA; the Vulkan loader, which
# wgpu opens at run time; the X11 client libraries, which NVIDIA's Vulkan
# driver links), and run.sh, which finds that machine's Vulkan driver and
# runs the capture and IPC probes.
#
#   scripts/bench-bundle.sh [--bin-dir DIR] [--archive] OUT
#     --bin-dir DIR  take the binaries built in DIR instead of building them
#     --archive      also write OUT.tar.xz (what to copy over)
#   then, there:     OUT/run.sh [livestream-bench arguments]
set -euo pipefail

usage() { sed -n '/^#   /s/^#//p' "$0" >&2; exit 2; }
bin_dir='' archive='' out=''
while (($#)); do
  case $1 in
    --bin-dir) [[ $# -ge 2 ]] || usage; bin_dir=$(realpath -m -- "$2"); shift 2 ;;
    --archive) archive=1; shift ;;
    -*) usage ;;
    *) [[ -z $out ]] || usage; out=$(realpath -m -- "$1"); shift ;;
  esac
done
[[ -n $out ]] || usage
if [[ -e $out && ! -f $out/run.sh ]]; then
  echo "bench-bundle: $out exists and is not a bundle; not replacing it" >&2
  exit 1
fi
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
if [[ -z $bin_dir ]]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(target_dir)}
  build_binaries
  bin_dir=$(target_dir)/debug
fi

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"
for binary in livestream-bench demo-dodge; do
  strip -o "$out/bin/$binary" "$bin_dir/$binary"
done
cp scripts/lib/bench-bundle-run.sh "$out/run.sh"

# Carried besides what the binaries link: the Vulkan loader, and the X11
# client libraries NVIDIA's Vulkan driver (libGLX_nvidia.so.0) links, which a
# bare GPU image may lack.
ldconfig=$(command -v ldconfig || echo /sbin/ldconfig)
carried=()
for soname in libvulkan.so.1 libX11.so.6 libXext.so.6; do
  path=$("$ldconfig" -p | awk -v name="$soname" '$1 == name && /x86-64/ && !found { print $NF; found = 1 }')
  [[ -n $path ]] || { echo "bench-bundle: $soname is not installed; run scripts/setup.sh" >&2; exit 1; }
  carried+=("$path")
done
needed=$(ldd "$out"/bin/livestream-bench "$out"/bin/demo-dodge "${carried[@]}")
if grep -q 'not found' <<< "$needed"; then
  echo "bench-bundle: libraries missing here:" >&2
  grep 'not found' <<< "$needed" >&2
  exit 1
fi
# Each by the name it is asked for, but glibc's and libgcc_s: the other
# machine's own must serve its GPU driver too (crates/bench/tests/bundle.rs
# holds the same list).
{
  awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' <<< "$needed"
  for path in "${carried[@]}"; do echo "$(basename "$path") $path"; done
} | { grep -Ev '^(ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil|libgcc_s)[.-]' || true; } |
  sort -u |
  while read -r name path; do cp -L "$path" "$out/lib/$name"; done

if [[ -n $archive ]]; then
  XZ_OPT=-T0 tar -C "$(dirname "$out")" -cJf "$out.tar.xz" "$(basename "$out")"
fi
du -sh "$out" ${archive:+"$out.tar.xz"} >&2
