#!/usr/bin/env bash
# Runs nginx on loopback terminating TLS in front of a plain HTTP server
# (WebSocket upgrades included), in the foreground: how a room server is
# put on the internet.
#
#   scripts/tls-proxy.sh DIR PORT UPSTREAM
#
# Serves https:// and wss:// on 127.0.0.1:PORT for http://UPSTREAM
# (HOST:PORT), with a certificate from a private authority made here
# (DIR/tls/ca.pem is what a client must be told to trust). It tells the
# upstream the client's address in X-Forwarded-For. Its pid is the nginx
# master's, so the caller stops it by pid; it also gets SIGTERM if the
# caller dies first.
set -euo pipefail
usage="usage: tls-proxy.sh DIR PORT UPSTREAM"
dir=$(realpath -m "${1:?$usage}")
port=${2:?$usage}
upstream=${3:?$usage}
command -v nginx >/dev/null || { echo "nginx missing (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir/tmp"
"$(dirname "$0")/test-cert.sh" "$dir/tls"
cat > "$dir/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
  # Off: a feed's URL carries its viewer token.
  access_log off;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $dir/tls/cert.pem;
    ssl_certificate_key $dir/tls/key.pem;
    location / {
      proxy_pass http://$upstream;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$http_connection;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_read_timeout 300s;
    }
  }
}
CONF
exec setpriv --pdeathsig TERM -- nginx -p "$dir/tmp" -e "$dir/error.log" -c "$dir/nginx.conf"
