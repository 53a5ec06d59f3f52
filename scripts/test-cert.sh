#!/usr/bin/env bash
# Makes a private certificate authority and a server certificate it signed,
# for 127.0.0.1 and localhost, as a test's TLS server needs one:
#
#   scripts/test-cert.sh DIR
#
# Writes DIR/ca.pem (what a client is told to trust, as it trusts a public
# authority), DIR/cert.pem and DIR/key.pem (the server's), valid two days.
# A client that is not given DIR/ca.pem must refuse the server.
set -euo pipefail
dir=${1:?usage: test-cert.sh DIR}
mkdir -p "$dir"
cd "$dir"
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -days 2 -subj "/CN=bevy_livestream test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req $key -subj "/CN=localhost" -keyout key.pem -out server.csr 2>/dev/null
printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
  -extfile server.ext -out cert.pem 2>/dev/null
rm -f server.csr server.ext ca.srl ca-key.pem
