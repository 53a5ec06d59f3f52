#!/usr/bin/env bash
# The main job: a local RTMP ingest, an audience room, the host and the two
# demo games: go live, switch between the games, hide both, come back, and
# print what was recorded. Everything it starts is stopped (by pid) when it
# exits; the recording stays under $DEMO_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh

"$root/scripts/setup.sh"
echo "demo: building (first build of Bevy takes ~10 minutes on 2 cores)"
build_binaries
bin=$(target_dir)/debug

DEMO_DIR=${DEMO_DIR:-$(mktemp -d -t livestream-demo.XXXXXX)}
mkdir -p "$DEMO_DIR"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT INT TERM

# Secrets as a streamer has them: a stream key and a moderator token, made
# up for this run, kept in files of the user's alone and never in argv
# (checked below, while everything runs).
umask 077
secret() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
key="demo-$(secret)"
token=$(secret)
printf '%s\n' "$key" > "$DEMO_DIR/stream-key"
printf '%s\n' "$token" > "$DEMO_DIR/room-token"
umask 022

port=$(free_port)
"$root/scripts/nginx-rtmp.sh" "$DEMO_DIR/ingest" "$port" &
pids+=($!)
wait_for_port "$port" 10 || { echo "demo: nginx-rtmp did not start; see $DEMO_DIR/ingest/error.log" >&2; exit 1; }
ingest="rtmp://127.0.0.1:$port/live/$key"
echo "demo: RTMP ingest (nginx-rtmp) listening at rtmp://127.0.0.1:$port/live/***, recording to $DEMO_DIR/ingest/recordings/"

for binary in livestream-host livestream-room demo-dodge demo-snake; do
  [[ -x $bin/$binary ]] || { echo "demo: $bin/$binary is missing" >&2; exit 1; }
done

# The audience: a livestream-room server; the host subscribes to room "demo".
"$bin/livestream-room" --listen 127.0.0.1:0 --burst 20 --mod-token-file "$DEMO_DIR/room-token" \
  > "$DEMO_DIR/room.out" 2> "$DEMO_DIR/room.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $DEMO_DIR/room.out ]] && break; sleep 0.1; done
room=$(sed -n 's/^livestream-room listening on //p' "$DEMO_DIR/room.out")
[[ -n $room ]] || { echo "demo: the room server did not start; see $DEMO_DIR/room.log" >&2; exit 1; }
echo "demo: audience room at $room/rooms/demo (open it in a browser to chat)"
post() { curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary "$1" "$room/rooms/demo/post"; }
socket="$DEMO_DIR/sock/host.sock"
# The demo runs on the embedded defaults, never on the user's own host.ron.
# Outputs (a stream key among them) in the environment: never in argv, which
# every user of the machine can read.
LIVESTREAM_OUTPUTS="$ingest"$'\n'"file:$DEMO_DIR/demo.mkv" \
XDG_CONFIG_HOME="$DEMO_DIR/config" "$bin/livestream-host" --headless --socket "$socket" \
  --size 640x360 --fps 30 --bitrate 1500 --mic test-tone \
  --interaction "ws://${room#http://}/rooms/demo/ws" 2> "$DEMO_DIR/host.log" &
pids+=($!)
host_pid=$!
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || { echo "demo: the host did not start; see $DEMO_DIR/host.log" >&2; exit 1; }

# Two demo games: real windows in a desktop session, offscreen otherwise.
if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]]; then
  game_args=(--size 640x360)
  echo "demo: a display is present: the games open windows (play them; close both to end)"
else
  game_args=(--headless --size 640x360 --fps 30 --duration 30)
  echo "demo: no display: the games run offscreen for 30 s"
fi
for game in dodge snake; do
  LIVESTREAM_SOCKET=$socket "$bin/demo-$game" "${game_args[@]}" > /dev/null 2> "$DEMO_DIR/$game.log" &
  pids+=($!)
done
names=(dodge snake)
ctl() { "$bin/livestream-host" ctl --socket "$socket" "$@"; }
for _ in $(seq 600); do
  [[ $(ctl status 2>/dev/null | grep -c '"name"') -ge 2 ]] && break
  sleep 0.1
done
[[ $(ctl status 2>/dev/null | grep -c '"name"') -ge 2 ]] || { echo "demo: the games did not connect; see $DEMO_DIR/*.log" >&2; exit 1; }

echo "demo: going live (microphone: test tone) to rtmp://127.0.0.1:$port/live/***"
echo "      watch it while it runs: ffplay \"rtmp://127.0.0.1:$port/live/\$(cat $DEMO_DIR/stream-key)\""
ctl go-live --mic
# What any user of the machine can read: every process's arguments.
checked=0
for cmdline in /proc/[0-9]*/cmdline; do
  if grep -qaF -f <(printf '%s\n' "$key" "$token") "$cmdline" 2>/dev/null; then
    echo "demo: a secret is in the arguments of process ${cmdline//[^0-9]/}" >&2
    exit 1
  fi
  checked=$((checked + 1))
done
echo "demo: neither the stream key nor the moderator token is in the arguments of any of $checked processes"
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
echo "demo: when the games end the host stops the stream and exits"
wait "$host_pid" || echo "demo: the host exited with status $?; see $DEMO_DIR/host.log" >&2

# Each session gets a file of its own: demo.mkv plus the session's date and time.
recording=$(ls -t "$DEMO_DIR"/demo\ *.mkv 2>/dev/null | head -n 1)
duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$recording" 2>/dev/null)
video=$(ffprobe -v error -count_frames -select_streams v:0 \
  -show_entries stream=codec_name,width,height,avg_frame_rate,nb_read_frames -of csv=p=0 "$recording" 2>/dev/null)
audio=$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name,sample_rate -of csv=p=0 "$recording" 2>/dev/null)
IFS=, read -r vcodec width height rate frames <<< "$video"
echo "demo: recording: $recording"
printf '      %.1f s, %s %sx%s at %s fps, %s frames; audio %s\n' \
  "${duration:-0}" "${vcodec:-none}" "$width" "$height" "${rate%/1}" "${frames:-0}" "${audio:-none}"
echo "      ingest copy: $DEMO_DIR/ingest/recordings/ (named after the stream key)"
echo "      play it: ffplay $recording"
delivered=$(grep -o '"delivered": [0-9]*' "$DEMO_DIR/status.json" | grep -o '[0-9]*$' | paste -sd/ -)
echo "demo: audience events delivered per game: ${delivered:-none} (ctl status in $DEMO_DIR/status.json)"
