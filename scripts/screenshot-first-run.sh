#!/usr/bin/env bash
# The README's pictures of a player's first run, taken by the end-to-end
# test that plays it (tests/destinations.rs: a real window under Xvfb, real
# clicks and typing, an RTMPS ingest refusing the first key):
#
#   scripts/screenshot-first-run.sh OUT_DIR
#
# Writes OUT_DIR/first-run-destination.png (where to stream, the key
# masked), OUT_DIR/first-run-refused-key.png (the badge saying why, with
# Retry and Change destination) and OUT_DIR/first-run-live.png.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:?usage: screenshot-first-run.sh OUT_DIR}")
mkdir -p "$out"
cd "$root"
source scripts/lib/common.sh
CARGO_TARGET_DIR=$(target_dir) LIVESTREAM_SCREENSHOTS=$out \
  cargo test --workspace --locked -p livestream-e2e --test destinations -- --nocapture
ls "$out"/first-run-*.png
