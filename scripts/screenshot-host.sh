#!/usr/bin/env bash
# A screenshot of the host's dashboard window while it streams.
#
#   scripts/screenshot-host.sh OUT.png
#
# Under Xvfb: a private nginx-rtmp ingest, the host with its window
# (1280x720) and a host.ron listing three games, two livestream-testsrc games
# connected (the third is left for the dashboard's "Start"), a few audience
# events, go live with the microphone (test tone); after a few seconds the
# window is captured with ffmpeg (x11grab). Everything it starts is stopped by
# pid. Prints the `ctl status` counters of the run (stream frames fresh vs
# repeated: the windowed host loop runs at the window's frame rate).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh
out=$(realpath -m "${1:?usage: screenshot-host.sh OUT.png}")
mkdir -p "$(dirname "$out")"

in_xvfb 1280x800 "$0" "$out"

bin=$(target_dir)/debug
work=$(mktemp -d -t livestream-screenshot.XXXXXX)
pids=()
cleanup() {
  # Games and host first (the host finishes the stream), the ingest last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}" 15; done
}
trap cleanup EXIT INT TERM

port=$(free_port)
scripts/nginx-rtmp.sh "$work/ingest" "$port" &
pids+=($!)
wait_for_port "$port" 10 || { echo "screenshot-host: nginx-rtmp did not start; see $work/ingest/error.log" >&2; exit 1; }

socket="$work/sock/host.sock"
cat > "$work/host.ron" <<RON
(
    outputs: ["rtmp://127.0.0.1:$port/live/screenshot-key"],
    width: 640, height: 360, fps: 30, bitrate_kbps: 1500,
    mic: "test-tone",
    exit_when_empty: false,
    games: [
        (name: "bars-a", program: "$bin/livestream-testsrc", args: ["--name", "bars-a", "--size", "640x360", "--fps", "30"]),
        (name: "bars-b", program: "$bin/livestream-testsrc", args: ["--name", "bars-b", "--size", "320x180", "--fps", "30"]),
        (name: "bars-c", program: "$bin/livestream-testsrc", args: ["--name", "bars-c"]),
    ],
)
RON
# One rendering thread: Mesa's software renderer would draw the window on
# every core at once and delay the stream's frames.
LP_NUM_THREADS=1 "$bin/livestream-host" --config "$work/host.ron" --socket "$socket" 2> "$work/host.log" &
pids+=($!)
host_pid=$!
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || { echo "screenshot-host: the host did not start; see $work/host.log" >&2; exit 1; }

LIVESTREAM_SOCKET=$socket "$bin/livestream-testsrc" --name bars-a --size 640x360 --fps 30 --tone 440 > /dev/null 2>&1 &
pids+=($!)
LIVESTREAM_SOCKET=$socket "$bin/livestream-testsrc" --name bars-b --size 320x180 --fps 30 --tone 660 --first-frame 100000 > /dev/null 2>&1 &
pids+=($!)
ctl() { "$bin/livestream-host" ctl --socket "$socket" "$@"; }
for _ in $(seq 100); do
  [[ $(ctl status 2>/dev/null | grep -c '"name"') -ge 2 ]] && break
  sleep 0.1
done

ctl say --user ann "hello from the audience" > /dev/null
ctl gift --user bob rose --count 3 > /dev/null
ctl say --user cat "the stream looks great" > /dev/null
ctl go-live --mic
ctl show bars-b
sleep 3
ctl show bars-a
ctl say --user dan "switched!" > /dev/null
sleep 5

ffmpeg -loglevel error -f x11grab -draw_mouse 0 -video_size 1280x720 -i "$DISPLAY+0,0" -frames:v 1 -y "$out"
status=$(ctl status)
echo "screenshot-host: $out ($(stat -c %s "$out") bytes)"
echo "$status" | grep -E '"(frames_pushed|frames_repeated|frames_superseded|reconnects|switches)"' | tr -d ' ,' | paste -sd' ' -
kill -0 "$host_pid" 2>/dev/null || { echo "screenshot-host: the host exited early; see $work/host.log" >&2; exit 1; }
echo "screenshot-host: logs in $work"
