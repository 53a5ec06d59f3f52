#!/bin/sh
# Runs livestream-bench from a bundle made by scripts/bench-bundle.sh, on a
# machine with nothing of ours installed (a GPU box): the bundle's libraries
# first, then the machine's Vulkan driver. Arguments go to livestream-bench;
# without any: the capture and IPC probes, 3 runs each, report in
# ./bench-report. The render adapter that drew is in the report's notes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# NVIDIA's container runtime mounts the driver here, not always on the linker's path.
if [ -d /usr/local/nvidia/lib64 ]; then
  LD_LIBRARY_PATH="$LD_LIBRARY_PATH:/usr/local/nvidia/lib64"
fi
export LD_LIBRARY_PATH

# Where NVIDIA's driver libraries may be (the container mount, then the distributions' own).
driver_dirs='/usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64'

# The Vulkan driver: the one the environment names, else NVIDIA's manifest
# where it is installed, else a manifest for NVIDIA's driver library when
# there is one without a manifest, else whatever the loader finds itself.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for manifest in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$manifest" ]; then
      VK_DRIVER_FILES=$manifest
      break
    fi
  done
fi
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for dir in $driver_dirs; do
    if [ -f "$dir/libGLX_nvidia.so.0" ]; then
      VK_DRIVER_FILES=$here/nvidia_icd.json
      printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3"}}\n' \
        "$dir/libGLX_nvidia.so.0" > "$VK_DRIVER_FILES"
      break
    fi
  done
fi
if [ -n "${VK_DRIVER_FILES:-}" ]; then
  export VK_DRIVER_FILES
fi
manifest=${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}
echo "run.sh: Vulkan driver: ${manifest:-the loader's own search}" >&2

# A driver whose libraries are missing is skipped by the loader without a
# word; say which are missing (a container also needs the driver's
# "graphics" capability: NVIDIA_DRIVER_CAPABILITIES=...,graphics).
case $manifest in
  *:*) manifest='' ;; # a list: left to the loader
esac
if [ -f "$manifest" ]; then
  driver=$(sed -n 's/.*"library_path" *: *"\([^"]*\)".*/\1/p' "$manifest")
  case $driver in
    /*) ;;
    *)
      for dir in $driver_dirs; do
        if [ -f "$dir/$driver" ]; then
          driver=$dir/$driver
          break
        fi
      done
      ;;
  esac
  if [ -f "$driver" ]; then
    missing=$(ldd "$driver" 2>/dev/null | grep 'not found' || true)
    if [ -n "$missing" ]; then
      echo "run.sh: the Vulkan driver $driver cannot load; missing:" >&2
      echo "$missing" >&2
    fi
  else
    echo "run.sh: the Vulkan driver library ${driver:-(none named)} is not found" >&2
  fi
fi

if [ $# -eq 0 ]; then
  set -- --only capture --only ipc --runs 3
fi
exec "$here/bin/livestream-bench" "$@"
