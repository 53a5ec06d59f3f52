#!/usr/bin/env bash
# Switch time (JSON): two livestream-testsrc games at SIZE and 30 fps, the host
# live to a private nginx-rtmp, `ctl show` alternating between them every
# second, SWITCHES times. Reports the host's time from each switch to the new
# game's first frame handed to the stream (`switch_to_picture_ms`: the game is
# asked for media only once shown, so this includes its first capture), and
# how many output frames were repeats meanwhile (the output itself never
# skips a frame: it repeats the last one until the new game's arrives).
#
#   scripts/bench-switch.sh [SIZE=1280x720] [SWITCHES=10]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh
size=${1:-1280x720}; switches=${2:-10}
build_binaries
bench_ingest
"$bin/livestream-host" --headless --socket "$socket" --output "rtmp://127.0.0.1:$port/live/bench" \
  --size "$size" --fps 30 --bitrate 2500 --mic none --stay 2> "$dir/host.log" & pids+=($!)
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
for name in a b; do
  "$bin/livestream-testsrc" --socket "$socket" --name "$name" --size "$size" --fps 30 \
    > /dev/null 2>&1 & pids+=($!)
done
ctl() { "$bin/livestream-host" ctl --socket "$socket" "$@"; }
for _ in $(seq 100); do [[ $(ctl status | grep -c '"name"') -ge 2 ]] && break; sleep 0.1; done
ctl go-live > /dev/null
ctl show a > /dev/null
sleep 3
before=$(ctl status)
for n in $(seq "$switches"); do
  if ((n % 2)); then ctl show b > /dev/null; else ctl show a > /dev/null; fi
  sleep 1
done
after=$(ctl status)
python3 - "$before" "$after" "$size" "$switches" <<'PY'
import json, statistics, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
times = after["switch_to_picture_ms"][-int(sys.argv[4]):]
print(json.dumps({
    "size": sys.argv[3], "fps": 30, "switches": len(times),
    "switch_to_picture_ms": {"min": min(times), "median": statistics.median(times), "max": max(times)},
    "output_frames": after["frames_pushed"] - before["frames_pushed"],
    "output_frames_repeated": after["frames_repeated"] - before["frames_repeated"],
}))
PY
