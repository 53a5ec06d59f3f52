#!/usr/bin/env bash
# Runs a private NATS server with JetStream on loopback, in the foreground:
# the message store `livestream-room --cluster` keeps rooms in.
#
#   scripts/nats.sh DIR PORT [--cluster CLUSTER_PORT ROUTE_PORT...] [--token-file FILE]
#
# Writes DIR/nats.conf, keeps JetStream's files in DIR/jetstream and serves
# clients on 127.0.0.1:PORT. The server is named after DIR's last component.
#
#   --cluster CLUSTER_PORT ROUTE_PORT...
#                     one node of a cluster named "livestream": routes are
#                     accepted on 127.0.0.1:CLUSTER_PORT and made to the
#                     other nodes' cluster ports (start each node with the
#                     same list). Three nodes hold streams with 3 replicas.
#   --token-file FILE clients must present the token in FILE (it is copied
#                     into DIR/nats.conf, readable by its owner only; it
#                     never appears in argv).
# It stays in the foreground (its pid is nats-server's), so the caller stops it
# by pid; it also gets SIGTERM if the caller dies first.
set -euo pipefail
usage="usage: nats.sh DIR PORT [--cluster CLUSTER_PORT ROUTE_PORT...] [--token-file FILE]"
dir=$(realpath -m "${1:?$usage}")
port=${2:?$usage}
shift 2
cluster_port=""
routes=()
token_file=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --cluster)
      cluster_port=${2:?$usage}
      shift 2
      while [[ $# -gt 0 && $1 != --* ]]; do routes+=("$1"); shift; done
      ;;
    --token-file) token_file=${2:?$usage}; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
command -v nats-server >/dev/null || { echo "nats-server missing (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir/jetstream"
name=$(basename "$dir")
umask 077
{
  echo "server_name: \"$name\""
  echo "listen: \"127.0.0.1:$port\""
  echo "jetstream { store_dir: \"$dir/jetstream\", max_memory_store: 64MB, max_file_store: 1GB }"
  if [[ -n $cluster_port ]]; then
    echo "cluster {"
    echo "  name: livestream"
    echo "  listen: \"127.0.0.1:$cluster_port\""
    echo "  routes: ["
    for route in "${routes[@]}"; do echo "    \"nats-route://127.0.0.1:$route\""; done
    echo "  ]"
    echo "}"
  fi
  if [[ -n $token_file ]]; then
    token=$(tr -d '\r\n' < "$token_file")
    [[ -n $token && $token != *'"'* && $token != *'\'* ]] || { echo "$token_file: an empty token, or one with quotes or backslashes" >&2; exit 2; }
    echo "authorization { token: \"$token\" }"
  fi
} > "$dir/nats.conf"
exec setpriv --pdeathsig TERM -- nats-server --config "$dir/nats.conf"
