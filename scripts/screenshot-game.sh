#!/usr/bin/env bash
# A screenshot of a demo game in a real window with the Go-live badge and the
# audience overlay, next to a frame of what the stream carried at the time.
#
#   scripts/screenshot-game.sh OUT_DIR
#
# Under Xvfb: the host (headless, recording to a file), demo-snake in a
# window, live, with audience chat and gifts from `ctl`. Writes
# OUT_DIR/game-overlay.png (the window: overlay visible) and
# OUT_DIR/game-stream.png (a frame of the recording: no overlay). Everything
# it starts is stopped by pid.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh
out=$(realpath -m "${1:?usage: screenshot-game.sh OUT_DIR}")
size=800x450

in_xvfb "$size" "$0" "$out"

bin=$(target_dir)/debug
work=$(mktemp -d -t livestream-screenshot.XXXXXX)
mkdir -p "$out"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid" 15; done
}
trap cleanup EXIT INT TERM

socket="$work/sock/host.sock"
recording="$work/stream-1.mkv" # the first session of the template stream-{n}.mkv
XDG_CONFIG_HOME="$work/config" "$bin/livestream-host" --headless --socket "$socket" --output "file:$work/stream-{n}.mkv" \
  --size "$size" --fps 15 --mic none 2> "$work/host.log" &
pids+=($!)
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || { echo "screenshot-game: the host did not start; see $work/host.log" >&2; exit 1; }
LIVESTREAM_SOCKET=$socket "$bin/demo-snake" --size "$size" > /dev/null 2> "$work/snake.log" &
pids+=($!)
ctl() { "$bin/livestream-host" ctl --socket "$socket" "$@" > /dev/null; }
for _ in $(seq 600); do
  [[ $("$bin/livestream-host" ctl --socket "$socket" status 2>/dev/null | grep -c '"name"') -ge 1 ]] && break
  sleep 0.1
done
ctl go-live
ctl show snake
lines=("hi streamer!" "that snake is fast" "faster" "faster" "go left!" "gg" "how long is it now?" "slower" "first time here, love it" "send golden food!")
users=(ann bob cid dee eve fay gus hal ivy jo)
for i in "${!lines[@]}"; do
  ctl say --user "${users[$i]}" "${lines[$i]}"
  ((i == 3)) && ctl gift --user fan rose --count 3
done
ctl gift --user "big fan" star
sleep 6
ffmpeg -v error -y -f x11grab -video_size "$size" -i "$DISPLAY" -frames:v 1 "$out/game-overlay.png"
sleep 1
ctl stop
sleep 2
ffmpeg -v error -y -sseof -1.5 -i "$recording" -frames:v 1 "$out/game-stream.png"
echo "screenshot-game: $out/game-overlay.png (the window) and $out/game-stream.png (the stream)"
