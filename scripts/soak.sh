#!/usr/bin/env bash
# Soak test (not in CI): the host and two demo games for a long stretch, as
# a streamer's evening would go. Switches the shown game every 20 s, stops
# and goes live again every 5 min, posts audience chat at 20 events/s, and
# records each session to a file of its own. At the end: resident memory
# (RSS) of the host and each game after the first minute and at the end,
# crashes, and every session's file decoded (frames against its duration).
#
#   scripts/soak.sh [SECONDS] [OUT.json]     (default 1800 s; JSON on stdout too)
#
# To find what grows, leave parts out: SOAK_RESTARTS=0 (one session, no
# stop and go-live), SOAK_CHAT=0 (no audience chat); SOAK_RESTART_EVERY=S
# stops and goes live again every S seconds (a multiple of 20) instead of
# every 300, to see what each session leaves behind. The host's and the
# games' RSS every 20 s is in $SOAK_DIR/rss.tsv, and once a minute in the JSON.
#
# Everything it starts is stopped by pid when it exits; files stay in $SOAK_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh

seconds=${1:-1800}
out=${2:-}
restart_every=${SOAK_RESTART_EVERY:-300}
((restart_every >= 20)) || { echo "soak: SOAK_RESTART_EVERY must be at least 20" >&2; exit 2; }
"$root/scripts/setup.sh" > /dev/null
build_binaries
bin=$(target_dir)/debug
SOAK_DIR=${SOAK_DIR:-$(mktemp -d -t livestream-soak.XXXXXX)}
mkdir -p "$SOAK_DIR"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
}
trap cleanup EXIT INT TERM

"$bin/livestream-room" --listen 127.0.0.1:0 --rate 50 --burst 50 > "$SOAK_DIR/room.out" 2> "$SOAK_DIR/room.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $SOAK_DIR/room.out ]] && break; sleep 0.1; done
room=$(sed -n 's/^livestream-room listening on //p' "$SOAK_DIR/room.out")
[[ -n $room ]] || { echo "soak: the room server did not start" >&2; exit 1; }

socket="$SOAK_DIR/sock/host.sock"
XDG_CONFIG_HOME="$SOAK_DIR/config" "$bin/livestream-host" --headless --stay --socket "$socket" \
  --output "file:$SOAK_DIR/session-{n}.mkv" --size 640x360 --fps 30 --bitrate 1500 --mic test-tone \
  --interaction "ws://${room#http://}/rooms/soak/ws" 2> "$SOAK_DIR/host.log" &
host_pid=$!
pids+=($host_pid)
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
[[ -S $socket ]] || { echo "soak: the host did not start; see $SOAK_DIR/host.log" >&2; exit 1; }
ctl() { "$bin/livestream-host" ctl --socket "$socket" "$@"; }

names=(snake dodge)
game_pids=()
for game in "${names[@]}"; do
  LIVESTREAM_SOCKET=$socket "$bin/demo-$game" --headless --size 640x360 --fps 30 > /dev/null 2> "$SOAK_DIR/$game.log" &
  game_pids+=($!)
  pids+=($!)
done
for _ in $(seq 600); do
  [[ $(ctl status 2>/dev/null | grep -c '"name"') -ge 2 ]] && break
  sleep 0.1
done

# Audience chat at 20 events a second, over one kept-alive HTTP connection.
chat_seconds=$seconds
[[ ${SOAK_CHAT:-1} == 0 ]] && chat_seconds=0
python3 - "$room" "$chat_seconds" > "$SOAK_DIR/chat.log" 2>&1 <<'PY' &
import http.client, json, sys, time, urllib.parse
url = urllib.parse.urlparse(sys.argv[1]); end = time.monotonic() + float(sys.argv[2])
connection = http.client.HTTPConnection(url.hostname, url.port)
sent = failed = 0
next_post = time.monotonic()
while time.monotonic() < end:
    body = json.dumps({"type": "chat", "user": f"viewer{sent % 50}", "text": f"message {sent}"})
    try:
        connection.request("POST", "/rooms/soak/post", body, {"Content-Type": "application/json"})
        connection.getresponse().read()
        sent += 1
    except Exception:
        failed += 1
        connection = http.client.HTTPConnection(url.hostname, url.port)
    next_post += 0.05
    time.sleep(max(0.0, next_post - time.monotonic()))
print(json.dumps({"chat_sent": sent, "chat_failed": failed}))
PY
chat_pid=$!
pids+=($chat_pid)

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

ctl show "${names[0]}" > /dev/null
ctl go-live --mic > /dev/null
start=$SECONDS
shown=0
rss_start=()
while ((SECONDS - start < seconds)); do
  sleep 20
  elapsed=$((SECONDS - start))
  if ((${#rss_start[@]} == 0 && elapsed >= 60)); then
    rss_start=("$(rss_kib "$host_pid")" "$(rss_kib "${game_pids[0]}")" "$(rss_kib "${game_pids[1]}")")
  fi
  printf '%s\t%s\t%s\t%s\n' "$elapsed" "$(rss_kib "$host_pid")" "$(rss_kib "${game_pids[0]}")" \
    "$(rss_kib "${game_pids[1]}")" >> "$SOAK_DIR/rss.tsv"
  if ((${SOAK_RESTARTS:-1} != 0 && elapsed % restart_every < 20 && elapsed >= restart_every)); then
    ctl stop > /dev/null
    for _ in $(seq 300); do ctl status | grep -q '"phase": "idle"' && break; sleep 0.1; done
    ctl go-live --mic > /dev/null
  fi
  shown=$(((shown + 1) % 2))
  ctl show "${names[$shown]}" > /dev/null
done
# The last sample, taken before that round's stop and go-live, if any.
read -r _ host_end snake_end dodge_end < <(tail -n 1 "$SOAK_DIR/rss.tsv")
rss_end=("$host_end" "$snake_end" "$dodge_end")
alive=0
for pid in "$host_pid" "${game_pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
ctl status > "$SOAK_DIR/status.json"
ctl stop > /dev/null
for _ in $(seq 300); do ctl status | grep -q '"phase": "idle"' && break; sleep 0.1; done
wait "$chat_pid" || true
stop_pid "$host_pid" 30
host_exit=0
wait "$host_pid" || host_exit=$?

python3 - "$SOAK_DIR" "$seconds" "$alive" "$host_exit" "${rss_start[*]:-0 0 0}" "${rss_end[*]}" <<'PY' | tee "${out:-/dev/null}"
import glob, json, subprocess, sys
soak_dir, seconds, alive, host_exit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
start = [int(v) for v in sys.argv[5].split()]; end = [int(v) for v in sys.argv[6].split()]
sessions = []
for path in sorted(glob.glob(f"{soak_dir}/session-*.mkv"), key=lambda p: int(p.rsplit("-", 1)[1][:-4])):
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
        "-show_entries", "stream=nb_read_frames:format=duration", "-of", "json", path],
        capture_output=True, text=True)
    info = json.loads(probe.stdout or "{}")
    frames = int(info.get("streams", [{}])[0].get("nb_read_frames", 0)) if info.get("streams") else 0
    duration = float(info.get("format", {}).get("duration", 0))
    sessions.append({"file": path, "duration_s": round(duration, 2), "frames": frames,
        "missing_frames": max(0, round(duration * 30) - frames), "playable": probe.returncode == 0 and frames > 0})
names = ["host", "snake", "dodge"]
timeline = {}
for line in open(f"{soak_dir}/rss.tsv"):
    elapsed, host = (int(v) for v in line.split()[:2])
    timeline.setdefault(elapsed // 60, host)
rss = {n: {"start_kib": s, "end_kib": e, "growth_pct": round(100.0 * (e - s) / s, 1) if s else None}
       for n, s, e in zip(names, start, end)}
chat = {}
try:
    chat = json.loads(open(f"{soak_dir}/chat.log").read().strip().splitlines()[-1])
except Exception:
    pass
print(json.dumps({"seconds": seconds, "processes_alive_at_end": alive, "crashes": 3 - alive,
    "host_exit": host_exit, "rss": rss, "host_rss_kib_each_minute": list(timeline.values()),
    "chat": chat, "sessions": sessions,
    "all_sessions_playable": all(s["playable"] for s in sessions)}, indent=2))
PY
