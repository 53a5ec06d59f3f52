#!/usr/bin/env bash
# The benchmarks: builds the workspace's binaries, then runs livestream-bench,
# which measures every budget of the brief on this machine and compares our
# capture with screen recording. JSON on stdout, a table on stderr; both and
# the plots in bench-report/ (or --out DIR). Takes ~20 min with the defaults.
#
#   scripts/bench.sh [--runs 3] [--long 300] [--window 10] [--only NAME]... [--out DIR] [--list]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/common.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(target_dir)}
build_binaries
exec "$(target_dir)/debug/livestream-bench" "$@"
