#!/usr/bin/env bash
# Runs a private nginx-rtmp ingest on loopback, in the foreground.
#
#   scripts/nginx-rtmp.sh DIR PORT
#
# Writes DIR/nginx.conf, keeps logs in DIR, records every stream it receives
# to DIR/recordings/<stream>.flv, and listens on 127.0.0.1:PORT at
# rtmp://127.0.0.1:PORT/live/<stream>. It stays in the foreground (its pid is
# the nginx master's), so the caller stops it by pid; it also gets SIGTERM if
# the caller dies first, so a killed test leaves no server behind.
set -euo pipefail
dir=$(realpath -m "${1:?usage: nginx-rtmp.sh DIR PORT}")
port=${2:?usage: nginx-rtmp.sh DIR PORT}
module=/usr/lib/nginx/modules/ngx_rtmp_module.so
[[ -f $module ]] || { echo "nginx-rtmp: $module missing (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir/recordings" "$dir/tmp"
user_line=""
if [[ $(id -u) -eq 0 ]]; then
  # Workers would run as nobody and could not write the recordings.
  user_line="user root;"
fi
cat > "$dir/nginx.conf" <<CONF
load_module $module;
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 128; }
rtmp {
  access_log $dir/access.log;
  server {
    listen 127.0.0.1:$port;
    chunk_size 4096;
    application live {
      live on;
      record all;
      record_path $dir/recordings;
      record_unique off;
      record_append on;
    }
  }
}
CONF
exec setpriv --pdeathsig TERM -- nginx -p "$dir/tmp" -e "$dir/error.log" -c "$dir/nginx.conf"
