#!/usr/bin/env bash
# Generates a self-signed CA and a serving certificate into DIR (default .run/tls): ca.crt, tls.crt,
# tls.key. The certificate covers localhost, 127.0.0.1, ::1 and any extra DNS names given, e.g.
#   scripts/gen-dev-cert.sh /tmp/podgate-tls podgate.podgate.svc podgate.podgate.svc.cluster.local
# Reuses existing files while they are valid for one more day.
set -euo pipefail
dir=${1:-.run/tls}
shift || true
sans="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do sans="$sans,DNS:$name"; done
mkdir -p "$dir"
if [ -f "$dir/tls.crt" ] && openssl x509 -checkend 86400 -noout -in "$dir/tls.crt" >/dev/null 2>&1; then
  exit 0
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj "/CN=podgate-dev-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$dir/tls.key" -out "$dir/tls.csr" 2>/dev/null
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" > "$dir/ext.cnf"
openssl x509 -req -in "$dir/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 90 \
  -extfile "$dir/ext.cnf" -out "$dir/tls.crt" 2>/dev/null
rm -f "$dir/tls.csr" "$dir/ext.cnf" "$dir/ca.srl"
chmod 600 "$dir/tls.key" "$dir/ca.key"
echo "generated a development CA and serving certificate in $dir (CA: $dir/ca.crt)"
