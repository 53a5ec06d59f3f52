#!/usr/bin/env bash
# The main job: a local RTMP ingest, the host, two demo games, streaming.
#
# Runs what exists today and says plainly what does not. Everything it starts
# is stopped (by pid) when it exits; the recording stays under $DEMO_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh

"$root/scripts/setup.sh"
echo "demo: building (first build of Bevy takes ~10 minutes on 2 cores)"
cargo build --workspace --bins --locked --quiet
bin=$(target_dir)/debug

DEMO_DIR=${DEMO_DIR:-$(mktemp -d -t livestream-demo.XXXXXX)}
pids=()
cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT INT TERM

port=$(free_port)
"$root/scripts/nginx-rtmp.sh" "$DEMO_DIR/ingest" "$port" &
pids+=($!)
wait_for_port "$port" 10 || { echo "demo: nginx-rtmp did not start; see $DEMO_DIR/ingest/error.log" >&2; exit 1; }
ingest="rtmp://127.0.0.1:$port/live/demo"
echo "demo: RTMP ingest (nginx-rtmp) listening at $ingest, recording to $DEMO_DIR/ingest/recordings/"

[[ -x $bin/livestream-host && -x $bin/livestream-testsrc && -x $bin/livestream-room ]] || { echo "demo: binaries missing in $bin" >&2; exit 1; }

# The audience: a livestream-room server; the host subscribes to room "demo".
"$bin/livestream-room" --listen 127.0.0.1:0 --burst 20 > "$DEMO_DIR/room.out" 2> "$DEMO_DIR/room.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $DEMO_DIR/room.out ]] && break; sleep 0.1; done
room=$(sed -n 's/^livestream-room listening on //p' "$DEMO_DIR/room.out")
[[ -n $room ]] || { echo "demo: the room server did not start; see $DEMO_DIR/room.log" >&2; exit 1; }
echo "demo: audience room at $room/rooms/demo (open it in a browser to chat)"
post() { curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary "$1" "$room/rooms/demo/post"; }
games=()
for game in demo-dodge demo-snake; do
  [[ -x $bin/$game ]] && games+=("$bin/$game")
done
socket="$DEMO_DIR/sock/host.sock"
recording="$DEMO_DIR/demo.mkv"
"$bin/livestream-host" --headless --socket "$socket" --output "$ingest" --output "file:$recording" \
  --size 640x360 --fps 30 --bitrate 1500 --mic test-tone \
  --interaction "ws://${room#http://}/rooms/demo/ws" 2> "$DEMO_DIR/host.log" &
pids+=($!)
host_pid=$!
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || { echo "demo: the host did not start; see $DEMO_DIR/host.log" >&2; exit 1; }

if ((${#games[@]} < 2)); then
  echo "demo: the demo games (issue #8) are not built yet; two livestream-testsrc"
  echo "      test-pattern games stand in for them (colour bars with a frame counter and a tone)"
  LIVESTREAM_SOCKET=$socket "$bin/livestream-testsrc" --name bars-a --size 640x360 --fps 30 --duration 22 --tone 440 > /dev/null 2>&1 &
  pids+=($!)
  LIVESTREAM_SOCKET=$socket "$bin/livestream-testsrc" --name bars-b --size 320x180 --fps 30 --duration 22 --tone 660 --first-frame 100000 > /dev/null 2>&1 &
  pids+=($!)
  names=(bars-a bars-b)
else
  for game in "${games[@]}"; do
    LIVESTREAM_SOCKET=$socket "$game" --headless > /dev/null 2>&1 &
    pids+=($!)
  done
  names=(dodge snake)
fi
ctl() { "$bin/livestream-host" ctl --socket "$socket" "$@"; }
for _ in $(seq 100); do
  [[ $(ctl status 2>/dev/null | grep -c '"name"') -ge 2 ]] && break
  sleep 0.1
done

echo "demo: going live (microphone: test tone) to $ingest"
echo "      watch it while it runs: ffplay $ingest"
ctl go-live --mic
echo "demo: showing ${names[0]}";  ctl show "${names[0]}"
echo "demo: the audience chats and sends gifts (every game gets them, shown or hidden)"
post '{"type":"chat","user":"ann","text":"hello from the audience"}'
post '{"type":"gift","user":"bob","gift":"rose","count":3}'
post '{"type":"like","user":"cat","count":5}'
sleep 5
echo "demo: switching to ${names[1]}"; ctl show "${names[1]}"; sleep 5
echo "demo: hiding every game (the stream keeps the last frame)"; ctl hide-all; sleep 3
echo "demo: back to ${names[0]}"; ctl show "${names[0]}"; sleep 5
ctl status > "$DEMO_DIR/status.json" || true
echo "demo: games ending; the host stops the stream and exits"
for _ in $(seq 300); do kill -0 "$host_pid" 2>/dev/null || break; sleep 0.1; done

summary=$(ffprobe -v error -show_entries format=duration:stream=codec_name,width,height,avg_frame_rate \
  -of compact=p=0:nk=1 "$recording" 2>/dev/null | paste -sd' ' -)
echo "demo: recording: $recording"
echo "      ($summary)"
echo "      ingest copy: $DEMO_DIR/ingest/recordings/demo.flv"
echo "      play it: ffplay $recording"
delivered=$(grep -o '"delivered": [0-9]*' "$DEMO_DIR/status.json" | grep -o '[0-9]*$' | paste -sd/ -)
echo "demo: audience events delivered per game: ${delivered:-none} (ctl status in $DEMO_DIR/status.json)"
