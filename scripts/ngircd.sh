#!/usr/bin/env bash
# Runs a private ngircd (IRC server) on loopback, in the foreground.
#
#   scripts/ngircd.sh DIR PORT
#
# Writes DIR/ngircd.conf and listens on 127.0.0.1:PORT with a channel #test.
# It stays in the foreground (its pid is ngircd's), so the caller stops it by
# pid; it also gets SIGTERM if the caller dies first.
set -euo pipefail
dir=$(realpath -m "${1:?usage: ngircd.sh DIR PORT}")
port=${2:?usage: ngircd.sh DIR PORT}
command -v ngircd >/dev/null || { echo "ngircd missing (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$dir"
: > "$dir/motd"
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
CONF
exec setpriv --pdeathsig TERM -- ngircd --nodaemon --config "$dir/ngircd.conf"
