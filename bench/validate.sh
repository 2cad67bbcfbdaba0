#!/usr/bin/env bash
# Warm-path throughput of POST /validate over TLS keep-alive, against nginx answering a fixed body
# over TLS on the same machine in the same run (the practical ceiling).
#
# Usage: bench/validate.sh [BODY_FILE] [DURATION_S] [CONNECTIONS]
#   defaults: tests/fixtures/reviews/pod-clean-4k.json, 10 s, 32 connections, wrk -t2
# Prints one table row per server plus the ratio, and podgate's idle RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
body=${1:-tests/fixtures/reviews/pod-clean-4k.json}
duration=${2:-10}
conns=${3:-32}
command -v wrk >/dev/null && command -v nginx >/dev/null || bash scripts/install-deps.sh
[ -x build/podgate ] || bash scripts/build.sh default

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

bash scripts/gen-dev-cert.sh "$work/tls" >/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

# The fixed body nginx returns: podgate's own answer to this review, so both send the same bytes.
fixed=$(./build/podgate review "$body")

nginx_port=$(free_port)
mkdir -p "$work/nginx"
# nginx's `return` text: escape backslashes and single quotes; JSON from podgate has no '$'.
escaped=${fixed//\\/\\\\}
escaped=${escaped//\'/\\\'}
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes $(nproc);
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  client_max_body_size 4m;
  client_body_buffer_size 1m;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/tls/tls.crt;
    ssl_certificate_key $work/tls/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { default_type application/json; return 200 '$escaped'; }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

pg_port=$(free_port); pg_metrics=$(free_port)
./build/podgate serve --listen 127.0.0.1:"$pg_port" --metrics-listen 127.0.0.1:"$pg_metrics" \
  --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" --log-level warn 2>"$work/podgate.log" &
pg_pid=$!
pids+=($pg_pid)
wait_port "$nginx_port"; wait_port "$pg_port"
sleep 0.5
idle_rss=$(awk '/VmRSS/ {print $2}' /proc/$pg_pid/status)

run() {  # name url
  BODY_FILE="$body" wrk -t2 -c"$conns" -d"${duration}s" -s bench/wrk/post.lua "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
# Warm both up, then measure each once.
BODY_FILE="$body" wrk -t2 -c"$conns" -d2s -s bench/wrk/post.lua "https://127.0.0.1:$nginx_port/validate" >/dev/null
BODY_FILE="$body" wrk -t2 -c"$conns" -d2s -s bench/wrk/post.lua "https://127.0.0.1:$pg_port/validate" >/dev/null
nginx_line=$(run nginx "https://127.0.0.1:$nginx_port/validate")
pg_line=$(run podgate "https://127.0.0.1:$pg_port/validate")
busy_rss=$(awk '/VmRSS/ {print $2}' /proc/$pg_pid/status)

# RESULT lines -> table: req/s from requests/duration, latencies in ms, then the ratio.
printf '\nbody: %s (%s bytes), %s connections, wrk -t2, %ss, TLS keep-alive, %s cores\n' \
  "$body" "$(wc -c < "$body")" "$conns" "$duration" "$(nproc)"
printf '%s\n%s\n' "$nginx_line" "$pg_line" | awk '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[NR] = $1 }
  END {
    printf "%-8s %10s %9s %9s %9s %7s\n", "server", "req/s", "p50_ms", "p99_ms", "p99.9_ms", "errors"
    for (n = 1; n <= NR; n++) {
      s = names[n]; rps[s] = v[s, "requests"] / (v[s, "duration_us"] / 1e6)
      printf "%-8s %10.0f %9.3f %9.3f %9.3f %7d\n", s, rps[s], v[s, "p50_us"] / 1000, v[s, "p99_us"] / 1000,
             v[s, "p999_us"] / 1000, v[s, "errors"]
    }
    printf "ratio podgate/nginx req/s: %.2f\n", rps["podgate"] / rps["nginx"]
  }'
printf 'podgate RSS: idle %s KiB, after load %s KiB\n' "$idle_rss" "$busy_rss"
