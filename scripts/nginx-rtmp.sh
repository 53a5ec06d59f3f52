#!/usr/bin/env bash
# Runs a private nginx-rtmp ingest on loopback, in the foreground.
#
#   scripts/nginx-rtmp.sh DIR PORT [--tls TLS_PORT] [--only-key HTTP_PORT KEY]
#
# Writes DIR/nginx.conf, keeps logs in DIR, records every stream it receives
# to DIR/recordings/<stream>.flv, and listens on 127.0.0.1:PORT at
# rtmp://127.0.0.1:PORT/live/<stream>.
#
#   --tls TLS_PORT   also rtmps://127.0.0.1:TLS_PORT/live/<stream>: nginx's
#                    stream module terminates TLS in front of the RTMP port,
#                    as a hosted ingest does, with a certificate for 127.0.0.1
#                    and localhost from a private authority made here (DIR/tls/ca.pem).
#   --only-key HTTP_PORT KEY
#                    refuse every stream key but KEY, as an ingest refuses a
#                    wrong key: nginx-rtmp asks (on_publish) a location served
#                    by the same nginx on 127.0.0.1:HTTP_PORT.
#
# It stays in the foreground (its pid is the nginx master's), so the caller
# stops it by pid; it also gets SIGTERM if the caller dies first, so a killed
# test leaves no server behind.
set -euo pipefail
usage="usage: nginx-rtmp.sh DIR PORT [--tls TLS_PORT] [--only-key HTTP_PORT KEY]"
dir=$(realpath -m "${1:?$usage}")
port=${2:?$usage}
shift 2
tls_port="" http_port="" only_key=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --tls) tls_port=${2:?$usage}; shift 2 ;;
    --only-key) http_port=${2:?$usage}; only_key=${3:?$usage}; shift 3 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
modules=/usr/lib/nginx/modules
for module in ngx_rtmp_module.so ${tls_port:+ngx_stream_module.so}; do
  [[ -f $modules/$module ]] || { echo "nginx-rtmp: $modules/$module missing (run scripts/setup.sh)" >&2; exit 1; }
done
mkdir -p "$dir/recordings" "$dir/tmp"
user_line=""
if [[ $(id -u) -eq 0 ]]; then
  # Workers would run as nobody and could not write the recordings.
  user_line="user root;"
fi
stream_block="" stream_module=""
if [[ -n $tls_port ]]; then
  "$(dirname "$0")/test-cert.sh" "$dir/tls"
  stream_module="load_module $modules/ngx_stream_module.so;"
  stream_block="stream {
  server {
    listen 127.0.0.1:$tls_port ssl;
    ssl_certificate $dir/tls/cert.pem;
    ssl_certificate_key $dir/tls/key.pem;
    proxy_pass 127.0.0.1:$port;
  }
}"
fi
http_block="" publish_check=""
if [[ -n $only_key ]]; then
  [[ $only_key =~ ^[A-Za-z0-9_-]+$ ]] || { echo "nginx-rtmp: KEY must be letters, digits, _ or -" >&2; exit 2; }
  publish_check="notify_method get;
      on_publish http://127.0.0.1:$http_port/publish;"
  http_block="http {
  access_log $dir/http-access.log;
  client_body_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$http_port;
    location = /publish {
      if (\$arg_name = \"$only_key\") { return 204; }
      return 403;
    }
  }
}"
fi
cat > "$dir/nginx.conf" <<CONF
load_module $modules/ngx_rtmp_module.so;
$stream_module
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 128; }
$stream_block
$http_block
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
      $publish_check
    }
  }
}
CONF
exec setpriv --pdeathsig TERM -- nginx -p "$dir/tmp" -e "$dir/error.log" -c "$dir/nginx.conf"
