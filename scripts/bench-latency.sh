#!/usr/bin/env bash
# Frame-in → ingest-out latency (JSON): a livestream-testsrc game at SIZE and
# 30 fps with a burned-in frame counter, the host pushing to a private
# nginx-rtmp, ffmpeg playing it back; p50/p95/p99 over SECONDS.
#
#   scripts/bench-latency.sh [SIZE=640x360] [SECONDS=10] [PRESET=veryfast]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
build_binaries
exec "$(target_dir)/debug/examples/latency" "$@"
