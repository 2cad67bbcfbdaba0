#!/usr/bin/env bash
# Where `podgate serve`'s CPU goes under load (issue 19): perf record of the server process while
# wrk -t2 -c32 posts one review body over TLS keep-alive, as bench/warm_path.sh does, then the
# split by library and the hottest symbols; and the server's own CPU per request (user and system
# time from /proc, which leaves out softirq time), beside nginx answering the same bytes.
#
# Usage: bench/profile.sh [BODY] [SECONDS]
#   defaults: tests/fixtures/reviews/pod-clean-4k.json, 8 s (after 2 s of warm-up)
# Env:   BUILD_DIR  podgate's build directory (default build)
#        TOP        how many symbols to list (default 30)
#        PERF_DATA  keep the recording there (default: a temp file, removed)
# Needs perf (linux-perf); the rest comes from scripts/install-deps.sh. perf's call graphs need
# frame pointers or DWARF (perf record --call-graph dwarf); this script lists self time only.
set -euo pipefail
cd "$(dirname "$0")/.."
body=${1:-tests/fixtures/reviews/pod-clean-4k.json}
seconds=${2:-8}
build_dir=${BUILD_DIR:-build}
top=${TOP:-30}
command -v perf >/dev/null || { echo "profile.sh: perf not found (apt-get install linux-perf)" >&2; exit 2; }
command -v wrk >/dev/null && command -v nginx >/dev/null || bash scripts/install-deps.sh
[ -x "$build_dir/podgate" ] || bash scripts/build.sh default podgate
podgate=$(cd "$build_dir" && pwd)/podgate

work=$(mktemp -d)
data=${PERF_DATA:-$work/perf.data}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
bash scripts/gen-dev-cert.sh "$work/tls" >/dev/null
. bench/nginx_baseline.sh

port=$(free_port); metrics_port=$(free_port); nginx_port=$(free_port)
"$podgate" serve --listen 127.0.0.1:"$port" --metrics-listen 127.0.0.1:"$metrics_port" \
  --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" --log-level warn 2>"$work/podgate.log" &
pid=$!
pids+=("$pid")
"$podgate" review "$body" >"$work/answer.json"
start_nginx "$work/nginx" "$nginx_port" "$work/tls/tls.crt" "$work/tls/tls.key" "$(nginx_location / "$work/answer.json")"
nginx_pid=$!
pids+=("$nginx_pid")
wait_port "$port"; wait_port "$nginx_port"

load() { BODY_FILE="$body" wrk -t2 -c32 -d"$2"s -s bench/wrk/post.lua "$1" | grep '^RESULT'; }
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo "$t"; }
user_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{ print $14 }' "/proc/$p/stat"))); done; echo "$t"; }
# cpu_per_request LABEL URL PID... -> req/s and CPU microseconds per request of those processes
cpu_per_request() {
  local label=$1 url=$2 line t0 u0 t1 u1
  shift 2
  load "$url" 2 >/dev/null
  t0=$(ticks "$@"); u0=$(user_ticks "$@")
  line=$(load "$url" 5)
  t1=$(ticks "$@"); u1=$(user_ticks "$@")
  awk -v l="$label" -v line="$line" -v t=$((t1 - t0)) -v u=$((u1 - u0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
    n = split(line, f, " "); for (i = 2; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
    printf "%-8s %8.0f req/s   CPU %5.1f us/request (user %5.1f, system %5.1f)\n", l, v["requests"] / (v["duration_us"] / 1e6),
           t * 1e6 / hz / v["requests"], u * 1e6 / hz / v["requests"], (t - u) * 1e6 / hz / v["requests"] }'
}

echo "# bench/profile.sh $body $seconds   $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# podgate: $podgate"
echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_per_request nginx "https://127.0.0.1:$nginx_port/" "$nginx_pid" $(pgrep -P "$nginx_pid")
cpu_per_request podgate "https://127.0.0.1:$port/validate" "$pid"

load "https://127.0.0.1:$port/validate" 2 >/dev/null
perf record -F 2000 -g -p "$pid" -o "$data" -- sleep "$seconds" >/dev/null 2>&1 &
perf_pid=$!
echo "# under perf: $(load "https://127.0.0.1:$port/validate" "$seconds")"
wait "$perf_pid"
echo
echo "## CPU of podgate serve by library (self time)"
perf report -i "$data" --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -10
echo
echo "## the $top hottest symbols (self time)"
perf report -i "$data" --no-children --sort dso,sym -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -"$top" |
  cut -c1-160
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
