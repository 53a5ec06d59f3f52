#!/usr/bin/env bash
# Runs a private ngircd (IRC server) on loopback, in the foreground.
#
#   scripts/ngircd.sh DIR PORT [--tls TLS_PORT]
#
# Writes DIR/ngircd.conf and listens on 127.0.0.1:PORT with a channel #test.
#
#   --tls TLS_PORT   also ircs:// on 127.0.0.1:TLS_PORT, with a certificate
#                    from a private authority made here (DIR/tls/ca.pem is
#                    what a client must be told to trust).
# It stays in the foreground (its pid is ngircd's), so the caller stops it by
# pid; it also gets SIGTERM if the caller dies first.
set -euo pipefail
usage="usage: ngircd.sh DIR PORT [--tls TLS_PORT]"
dir=$(realpath -m "${1:?$usage}")
port=${2:?$usage}
shift 2
tls_port=""
case ${1:-} in
  --tls) tls_port=${2:?$usage} ;;
  "") ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
command -v ngircd >/dev/null || { echo "ngircd missing (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir"
: > "$dir/motd"
ssl_block=""
if [[ -n $tls_port ]]; then
  "$(dirname "$0")/test-cert.sh" "$dir/tls"
  # Fixed RFC 7919 parameters: GnuTLS would otherwise generate them at start.
  openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$dir/tls/dh.pem" 2>/dev/null
  ssl_block="[SSL]
  CertFile = $dir/tls/cert.pem
  KeyFile = $dir/tls/key.pem
  DHFile = $dir/tls/dh.pem
  Ports = $tls_port"
fi
cat > "$dir/ngircd.conf" <<CONF
[Global]
  Name = irc.livestream.test
  Info = bevy_livestream test server
  AdminInfo1 = bevy_livestream tests
  AdminInfo2 = loopback only
  AdminEMail = nobody@localhost
  Listen = 127.0.0.1
  Ports = $port
  MotdFile = $dir/motd
[Limits]
  MaxNickLength = 30
  MaxConnectionsIP = 0
  PingTimeout = 120
  PongTimeout = 20
[Options]
  DNS = no
  Ident = no
  PAM = no
  SyslogFacility = local7
[Channel]
  Name = #test
  Topic = bevy_livestream audience
$ssl_block
CONF
exec setpriv --pdeathsig TERM -- ngircd --nodaemon --config "$dir/ngircd.conf"
