#!/usr/bin/env bash
# Our capture vs screen recording, same game, same ingest (JSON).
#
#   scripts/bench-screen-recording.sh [SECONDS=15] [RUNS=2] [SIZE=640x360]
#
# Under Xvfb, demo-snake plays in a real window (overlay up) while it is
# streamed to a private nginx-rtmp at 30 fps, x264 veryfast, two ways, in
# alternating runs: (a) bevy_livestream: the game captures its camera and
# livestream-host encodes; (b) screen recording: the game alone and
# `ffmpeg -f x11grab` encoding the screen. For each: the game's frames per
# second, the CPU (cores) of the game and of the encoder process, and how
# much of the overlay's area shows in what nginx recorded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh
seconds=${1:-15}; runs=${2:-2}; size=${3:-640x360}
in_xvfb "$size" "$0" "$seconds" "$runs" "$size"
export LIVESTREAM_BIN=$(target_dir)/debug
exec python3 scripts/lib/screen_recording.py "$seconds" "$runs" "$size"
