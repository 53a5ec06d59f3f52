#!/usr/bin/env bash
# The benchmarks: builds the workspace's binaries, then runs livestream-bench,
# which measures every budget of the brief on this machine, compares our
# capture with OBS Studio and screen recording, and times the audience's
# round trip. It first installs the packages only the benchmarks need
# (scripts/setup.sh --bench). JSON on stdout, a table on stderr; both and
# the plots in bench-report/ (or --out DIR). Takes ~25 min with the defaults.
#
#   scripts/bench.sh [--runs 3] [--long 300] [--window 10] [--gifts 30] [--only NAME]... [--out DIR] [--list]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(target_dir)}
scripts/setup.sh --bench
build_binaries
exec "$(target_dir)/debug/livestream-bench" "$@"
