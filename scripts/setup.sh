#!/usr/bin/env bash
# Installs every system package bevy_livestream needs on Debian 12, once.
#
#   scripts/setup.sh [--bench]
#
# --bench also installs what only the benchmarks run (scripts/bench.sh passes
# it): OBS Studio, and openbox, the window manager of their desktop.
#
# Idempotent: when every package is already installed it prints one line and
# changes nothing. Runs as root (or through sudo when it is available).
# Services the packages ship (nginx, pulseaudio, ngircd, nats-server) are never started
# here: tests and the demo start their own instances under temp prefixes.
set -euo pipefail

PACKAGES=(
  # build
  build-essential pkg-config
  # GStreamer: headers for gstreamer-rs, plugins for the media pipeline, tools for checks
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-pulseaudio
  # Bevy: software Vulkan (lavapipe), windowing and audio headers
  mesa-vulkan-drivers libvulkan1 libasound2-dev libudev-dev libxkbcommon-dev
  libxkbcommon-x11-0 libwayland-dev libx11-6 libxcursor1 libxi6 libxrandr2
  # real servers and checkers used by the demo and the end-to-end tests
  xvfb xauth nginx libnginx-mod-rtmp ffmpeg pulseaudio pulseaudio-utils ngircd
  # JetStream: the message store clustered room servers share
  nats-server
  # RTMPS: GIO's TLS for rtmp2sink; nginx's stream module and openssl for the test's TLS proxy
  glib-networking libnginx-mod-stream openssl
  # headless browser driving the room server's viewer page in crates/room tests
  chromium
  # helpers used by scripts; xdotool minimises a window in the benchmarks
  procps psmisc curl ca-certificates xdotool
  # the attacker of a planted socket runs as another user: the system's python
  python3
)
case ${1:-} in
  --bench) PACKAGES+=(obs-studio openbox) ;;
  "") ;;
  *) echo "usage: setup.sh [--bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup: all ${#PACKAGES[@]} system packages present"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi

echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
# Keep package post-install scripts from starting system services (nginx on :80 etc.).
policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  added_policy=1
fi
cleanup() { [[ $added_policy -eq 1 ]] && "${SUDO[@]}" rm -f "$policy"; return 0; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
