#!/usr/bin/env bash
# Runs three NATS servers with JetStream routed into one cluster on
# loopback (a stream there may keep 3 replicas, so one server may fail with
# nothing lost), until it is stopped.
#
#   scripts/nats-cluster.sh DIR PORT
#
# The servers serve clients on 127.0.0.1:PORT, PORT+1 and PORT+2 and route
# to each other on PORT+10 to PORT+12; each keeps its files in DIR/nN (see
# scripts/nats.sh). Prints the --cluster value for livestream-room. On
# SIGTERM, SIGINT or exit it stops exactly the three servers it started, by
# pid. (The tests start the nodes one by one through scripts/nats.sh, to
# kill one of them.)
set -euo pipefail
usage="usage: nats-cluster.sh DIR PORT"
dir=$(realpath -m "${1:?$usage}")
port=${2:?$usage}
routes=($((port + 10)) $((port + 11)) $((port + 12)))
pids=()
stop() { [[ ${#pids[@]} -gt 0 ]] && kill "${pids[@]}" 2>/dev/null; wait; }
trap stop EXIT
trap 'exit 0' TERM INT
for n in 0 1 2; do
  "$(dirname "$0")/nats.sh" "$dir/n$((n + 1))" $((port + n)) --cluster "${routes[$n]}" "${routes[@]}" &
  pids+=($!)
done
echo "nats://127.0.0.1:$port,nats://127.0.0.1:$((port + 1)),nats://127.0.0.1:$((port + 2))"
wait
