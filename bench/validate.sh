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
. bench/nginx_baseline.sh

# The fixed body nginx returns: podgate's own answer to this review, so both send the same bytes.
fixed=$(./build/podgate review "$body")

nginx_port=$(free_port)
printf '%s' "$fixed" > "$work/fixed.json"
start_nginx "$work/nginx" "$nginx_port" "$work/tls/tls.crt" "$work/tls/tls.key" "$(nginx_location / "$work/fixed.json")"
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
