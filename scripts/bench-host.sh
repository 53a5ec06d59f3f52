#!/usr/bin/env bash
# Host CPU per stream: one livestream-testsrc game at SIZE and 30 fps, the host
# encoding it (x264 + AAC with the test-tone mic) and pushing it to a private
# nginx-rtmp. Samples the host's CPU time (/proc/PID/stat) over RUNS windows
# of SECONDS each and prints JSON: cores used (min/median/max).
#
#   scripts/bench-host.sh [SIZE=1280x720] [SECONDS=10] [RUNS=3] [PRESET=veryfast]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/common.sh
size=${1:-1280x720}; seconds=${2:-10}; runs=${3:-3}; preset=${4:-veryfast}
build_binaries
bench_ingest
"$bin/livestream-host" --headless --socket "$socket" --output "rtmp://127.0.0.1:$port/live/bench" \
  --size "$size" --fps 30 --bitrate 2500 --preset "$preset" --mic test-tone --stay \
  2> "$dir/host.log" & host=$!; pids+=($host)
for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
"$bin/livestream-testsrc" --socket "$socket" --name bench --size "$size" --fps 30 --shown \
  > /dev/null 2>&1 & game=$!; pids+=($game)
sleep 1
"$bin/livestream-host" ctl --socket "$socket" go-live --mic
sleep 3 # warm-up: encoder and RTMP session settle

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
samples=()
for _ in $(seq "$runs"); do
  t0=$(ticks "$host"); s0=$(date +%s.%N)
  sleep "$seconds"
  t1=$(ticks "$host"); s1=$(date +%s.%N)
  samples+=("$(awk -v t="$((t1 - t0))" -v hz="$hz" -v a="$s0" -v b="$s1" 'BEGIN { print t / hz / (b - a) }')")
done
status=$("$bin/livestream-host" ctl --socket "$socket" status)
sorted=$(printf '%s\n' "${samples[@]}" | sort -g)
min=$(echo "$sorted" | head -1); max=$(echo "$sorted" | tail -1)
median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
pushed=$(echo "$status" | grep -o '"frames_pushed": [0-9]*' | grep -o '[0-9]*$')
repeated=$(echo "$status" | grep -o '"frames_repeated": [0-9]*' | grep -o '[0-9]*$')
printf '{"host_cores":{"min":%.3f,"median":%.3f,"max":%.3f},"size":"%s","fps":30,"preset":"%s","seconds":%s,"runs":%s,"frames_pushed":%s,"frames_repeated":%s,"build":"debug profile (deps opt-level 3)","cores_on_machine":%s}\n' \
  "$min" "$median" "$max" "$size" "$preset" "$seconds" "$runs" "$pushed" "$repeated" "$(nproc)"
