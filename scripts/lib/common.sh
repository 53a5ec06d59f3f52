# Shared helpers for the project's scripts (sourced, not run).

# A free TCP port on loopback.
free_port() {
  python3 - <<'PY' 2>/dev/null || shuf -i 20000-60000 -n 1
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}

# Wait until something listens on 127.0.0.1:$1 (up to $2 seconds).
wait_for_port() {
  local port=$1 deadline=$((SECONDS + ${2:-10}))
  while ((SECONDS < deadline)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Kill a pid and wait for it to go, escalating to SIGKILL after $2 seconds.
stop_pid() {
  local pid=$1 grace=${2:-5}
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Where cargo puts binaries.
target_dir() {
  echo "${CARGO_TARGET_DIR:-$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)/target}"
}

# Builds every binary of the workspace. Through `cargo test --no-run`, so the
# dependencies get the same features as in the test suite and both share one
# build (`cargo build --bins` alone would compile Bevy a second time).
build_binaries() {
  cargo test --workspace --no-run --locked --quiet 2>&1 | grep -v '^ *Executable ' || true
  [[ ${PIPESTATUS[0]} -eq 0 ]]
}

# Builds, then runs the calling script again inside a private X server
# (xvfb-run) with screen SIZE (WxH) and the same arguments; returns in that
# second run. Usage: in_xvfb SIZE "$0" "$@"
in_xvfb() {
  local size=$1; shift
  [[ -n ${LIVESTREAM_IN_XVFB:-} ]] && return 0
  command -v xvfb-run > /dev/null || { echo "$(basename "$1"): xvfb-run missing (run scripts/setup.sh)" >&2; exit 1; }
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(target_dir)}
  build_binaries
  LIVESTREAM_IN_XVFB=1 exec xvfb-run -a -s "-screen 0 ${size}x24" "$@"
}
