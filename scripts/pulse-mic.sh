#!/usr/bin/env bash
# Runs a private PulseAudio with a virtual microphone that plays a tone, in
# the foreground.
#
#   scripts/pulse-mic.sh DIR [FREQUENCY_HZ [SPEAKER_RATE_HZ]]
#
# The server listens on DIR/native (use PULSE_SERVER=unix:DIR/native); the
# microphone is the source "virtual_mic.monitor": the monitor of a null sink
# into which a player writes a sine tone (1000 Hz by default); the null sink
# paces it, and the monitor delivers it in the small fragments its reader asks
# for, like a real microphone. The player writes ahead and keeps 2 s queued in
# the server, so a busy machine that stalls it for a moment never leaves the
# microphone silent: the tone is constant, its latency does not matter, and a
# gap would be taken for the host's fault. With SPEAKER_RATE_HZ, a second
# null sink "speaker" at that rate is the default output: a sound card that
# games play into, recorded from "speaker.monitor". The script's pid
# stands for both processes: SIGTERM stops them, and they also get SIGTERM if
# the caller dies first.
set -euo pipefail
dir=$(realpath -m "${1:?usage: pulse-mic.sh DIR [FREQUENCY_HZ [SPEAKER_RATE_HZ]]}")
frequency=${2:-1000}
speaker=()
if [[ -n ${3:-} ]]; then
  speaker=(-L "module-null-sink sink_name=speaker rate=$3 channels=2")
fi
command -v pulseaudio >/dev/null || { echo "pulseaudio missing (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir"
export XDG_RUNTIME_DIR=$dir HOME=$dir PULSE_SERVER=unix:$dir/native
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait' EXIT TERM INT
setpriv --pdeathsig TERM -- pulseaudio -n --daemonize=no --exit-idle-time=-1 \
  --use-pid-file=no --log-target=stderr \
  -L "module-native-protocol-unix auth-anonymous=1 socket=$dir/native" \
  -L "module-null-sink sink_name=virtual_mic rate=48000 channels=2" "${speaker[@]}" &
pids+=($!)
for _ in $(seq 100); do
  pactl info >/dev/null 2>&1 && break
  sleep 0.1
done
pactl info >/dev/null 2>&1 || { echo "pulse-mic: PulseAudio did not start" >&2; exit 1; }
if ((${#speaker[@]})); then
  pactl set-default-sink speaker
fi
setpriv --pdeathsig TERM -- gst-launch-1.0 -q audiotestsrc freq="$frequency" volume=0.3 \
  ! audio/x-raw,rate=48000,channels=2 ! pulsesink device=virtual_mic sync=false buffer-time=2000000 &
pids+=($!)
echo "pulse-mic: PULSE_SERVER=$PULSE_SERVER source=virtual_mic.monitor tone=${frequency}Hz"
wait -n
