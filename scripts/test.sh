#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, checks formatting and
# lints, checks that the game-side plugin does not link GStreamer, then runs
# every unit, property, socket and end-to-end test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

"$(dirname "$0")/setup.sh"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== the plugin must not depend on GStreamer"
if cargo tree -p bevy_livestream --locked -e normal,build --prefix none | grep -i '^gstreamer'; then
  echo "bevy_livestream depends on GStreamer (above): game authors must never need it" >&2
  exit 1
fi

echo "== a game outside this workspace builds from docs/integrating.md"
scripts/check-outside-game.sh

echo "== cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Every test binary runs even when an earlier one fails, so one failure never
# hides the rest of the suite.
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line for the whole suite (cargo prints one per test binary),
# and the binaries that failed, if any.
awk '/^test result:/ { n++; for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped, in %d test binaries\n", p, f, s, n }' "$log"
grep -A50 '^error: [0-9]* targets\? failed:' "$log" | grep '^    ' || true
exit "$status"
