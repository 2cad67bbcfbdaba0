#!/usr/bin/env bash
# Warm-path throughput and latency of POST /validate over TLS keep-alive (issue 7), three servers
# one after another in one run, for each benchmark body:
#   nginx    answering a fixed body (podgate's own answer to that review): the ceiling;
#   podgate  `podgate serve` with its embedded defaults;
#   go-peer  bench/peers/go, the net/http + encoding/json webhook a team would write instead.
# Then, for the first body (the 4 KB Pod), a paced run of podgate and the Go peer at a fixed offered
# rate, half of podgate's measured maximum, for the latency at that load.
#
# Usage: bench/warm_path.sh [DURATION_S] [CONNECTIONS]
#   defaults: 10 s per measurement (after 2 s of warm-up), 32 connections, wrk -t2.
# Environment:
#   BUILD_DIR   podgate's build directory (default build; built with scripts/build.sh if missing)
#   GO_PEER     the Go peer binary (default .cache/bench/podgate-go-peer, built from bench/peers/go
#               with the local Go toolchain when missing or older than its sources)
#   BODIES      the review bodies, space-separated (default: 4 KB Pod, 30 KB Deployment, 200 KB Pod);
#               each must be one podgate allows (the sanity check insists on it)
#   FIXED_RATE  offered req/s for the paced phase (default: half of podgate's req/s on the first
#               body); 0 skips the phase
#
# All three servers and wrk share the machine's cores, so only ratios from one run mean anything;
# run it on an otherwise idle machine (the header prints the load average before and after).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
duration=${1:-10}
conns=${2:-32}
build_dir=${BUILD_DIR:-build}
bodies=(${BODIES:-tests/fixtures/reviews/pod-clean-4k.json tests/fixtures/reviews/deployment-clean-30k.json
        tests/fixtures/reviews/pod-clean-200k.json})
privileged=tests/fixtures/reviews/pod-privileged.json

command -v wrk >/dev/null && command -v nginx >/dev/null || bash scripts/install-deps.sh
command -v go >/dev/null || { echo "warm_path.sh: needs the Go toolchain (go) for the peer" >&2; exit 2; }
if [ ! -x "$build_dir/podgate" ]; then
  [ "$build_dir" = build ] || { echo "warm_path.sh: $build_dir/podgate not built" >&2; exit 2; }
  bash scripts/build.sh default
fi
podgate=$root/$build_dir/podgate

go_peer=${GO_PEER:-.cache/bench/podgate-go-peer}
if [ -z "${GO_PEER:-}" ] && { [ ! -x "$go_peer" ] ||
     [ -n "$(find bench/peers/go \( -name '*.go' -o -name go.mod \) -newer "$go_peer")" ]; }; then
  mkdir -p "$(dirname "$go_peer")"
  (cd bench/peers/go && GOTOOLCHAIN=local go build -o "$root/$go_peer" .)
fi
go_peer=$(cd "$(dirname "$go_peer")" && pwd)/$(basename "$go_peer")

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

bash scripts/gen-dev-cert.sh "$work/tls" >/dev/null
. bench/nginx_baseline.sh
rss() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "VmRSS %.1f MiB, VmHWM %.1f MiB", r / 1024, h / 1024 }' "/proc/$1/status"; }

# nginx: one location per body, each returning podgate's own answer to that review.
nginx_port=$(free_port)
locations=""
for i in "${!bodies[@]}"; do
  "$podgate" review "${bodies[$i]}" > "$work/fixed-$i.json"
  locations+=$(nginx_location "/b$i" "$work/fixed-$i.json")$'\n'
done
start_nginx "$work/nginx" "$nginx_port" "$work/tls/tls.crt" "$work/tls/tls.key" "$locations"
pids+=($!)

pg_port=$(free_port); pg_metrics=$(free_port)
"$podgate" serve --listen 127.0.0.1:"$pg_port" --metrics-listen 127.0.0.1:"$pg_metrics" \
  --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" --log-level warn 2>"$work/podgate.log" &
pg_pid=$!
pids+=($pg_pid)

go_port=$(free_port)
"$go_peer" -listen 127.0.0.1:"$go_port" -tls-cert "$work/tls/tls.crt" -tls-key "$work/tls/tls.key" 2>"$work/go-peer.log" &
go_pid=$!
pids+=($go_pid)

wait_port "$nginx_port"; wait_port "$pg_port"; wait_port "$go_port"
sleep 0.5
idle_pg=$(rss $pg_pid); idle_go=$(rss $go_pid)

declare -A url=(
  [podgate]="https://127.0.0.1:$pg_port/validate"
  [go-peer]="https://127.0.0.1:$go_port/validate"
)
nginx_url() { echo "https://127.0.0.1:$nginx_port/b$1"; }

# Sanity: every server must answer each body with a correct AdmissionReview (uid echoed, allowed),
# and podgate and the Go peer must deny the privileged Pod, before anything is measured.
expect() {  # label url body_file want_allowed(true|false)
  local resp
  if ! resp=$(curl -sS --fail --cacert "$work/tls/ca.crt" -H 'Content-Type: application/json' \
                   --data-binary @"$3" "$2"); then
    echo "sanity: $1: POST $3 failed" >&2; exit 1
  fi
  python3 - "$1" "$3" "$4" "$resp" <<'PY' || exit 1
import json, sys
label, path, want, raw = sys.argv[1], sys.argv[2], sys.argv[3] == "true", sys.argv[4]
uid = json.load(open(path))["request"]["uid"]
doc = json.loads(raw)
resp = doc.get("response") or {}
ok = (doc.get("apiVersion") == "admission.k8s.io/v1" and doc.get("kind") == "AdmissionReview"
      and resp.get("uid") == uid and resp.get("allowed") is want
      and (want or (resp.get("status") or {}).get("code") == 403))
if not ok:
    sys.exit(f"sanity: {label}: {path}: expected allowed={want} for uid {uid}, got {raw[:300]}")
PY
}
for i in "${!bodies[@]}"; do
  expect nginx "$(nginx_url "$i")" "${bodies[$i]}" true
  expect podgate "${url[podgate]}" "${bodies[$i]}" true
  expect go-peer "${url[go-peer]}" "${bodies[$i]}" true
done
expect podgate "${url[podgate]}" "$privileged" false
expect go-peer "${url[go-peer]}" "$privileged" false

tls_of() {  # the protocol and cipher wrk will get (same OpenSSL defaults as wrk)
  openssl s_client -connect 127.0.0.1:"$1" -servername localhost </dev/null 2>/dev/null |
    awk '/^New,/ { sub(",", "", $2); print $2 "/" $NF; exit }'
}

echo "# bench/warm_path.sh $duration $conns   $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), $(nginx -v 2>&1 | sed 's/.*: //'), podgate $("$podgate" version 2>&1 | head -1) ($build_dir), go-peer $(go version | awk '{print $3}')"
echo "# TLS: nginx $(tls_of "$nginx_port"), podgate $(tls_of "$pg_port"), go-peer $(tls_of "$go_port")"
echo "# sanity: all three answer every body allowed with its uid; podgate and go-peer deny $privileged"
echo "# idle RSS: podgate $idle_pg; go-peer $idle_go"

run() {  # label url body seconds -> RESULT line with the label in front
  BODY_FILE="$3" wrk -t2 -c"$conns" -d"$4s" -s bench/wrk/post.lua "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}

# RESULT lines -> one table: req/s from requests/duration, latencies in ms, ratio to nginx, and the
# podgate/go-peer ratio.
table() {
  awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[NR] = $1 }
    END {
      printf "%-8s %10s %9s %9s %9s %7s %8s\n", "server", "req/s", "p50_ms", "p99_ms", "p99.9_ms", "errors", "x_nginx"
      for (n = 1; n <= NR; n++) {
        s = names[n]; rps[s] = v[s, "requests"] / (v[s, "duration_us"] / 1e6)
      }
      for (n = 1; n <= NR; n++) {
        s = names[n]
        printf "%-8s %10.0f %9.3f %9.3f %9.3f %7d %8.2f\n", s, rps[s], v[s, "p50_us"] / 1000, v[s, "p99_us"] / 1000,
               v[s, "p999_us"] / 1000, v[s, "errors"], rps[s] / rps["nginx"]
      }
      printf "ratio podgate/go-peer req/s: %.2f\n", rps["podgate"] / rps["go-peer"]
    }'
}

pg_max_first=""
for i in "${!bodies[@]}"; do
  body=${bodies[$i]}
  lines=""
  for s in nginx podgate go-peer; do
    if [ "$s" = nginx ]; then u=$(nginx_url "$i"); else u=${url[$s]}; fi
    run "$s" "$u" "$body" 2 >/dev/null  # warm-up: TLS sessions, caches, Go's heap
    lines+="$(run "$s" "$u" "$body" "$duration")"$'\n'
  done
  printf '\n## %s (%s bytes), wrk -t2 -c%s -d%ss, TLS keep-alive\n' "$body" "$(wc -c < "$body")" "$conns" "$duration"
  printf '%s' "$lines" | table
  printf 'RSS after this load: podgate %s; go-peer %s\n' "$(rss $pg_pid)" "$(rss $go_pid)"
  if [ "$i" = 0 ]; then
    first_lines=$lines
    pg_hwm_first=$(awk '/^VmHWM/ { print $2 }' /proc/$pg_pid/status)
    go_hwm_first=$(awk '/^VmHWM/ { print $2 }' /proc/$go_pid/status)
    pg_max_first=$(printf '%s' "$lines" | awk '$1 == "podgate" { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                                                 printf "%.0f", v["requests"] / (v["duration_us"] / 1e6) }')
  fi
done

# Paced phase. wrk 4 cannot offer a fixed rate (wrk2 is not in Debian), so bench/wrk/post_paced.lua
# adds a think time (delay()) between a response and the next request on each connection: each of
# the C connections then runs at 1000 / (latency + delay) req/s. Short calibration runs solve for the
# delay that gives the target rate (within 3%, else the closest one tried); a server that cannot
# reach the target even with no delay is saturated, and the table shows the rate it did reach.
# wrk fires delays on whole-millisecond timer ticks, so requests leave in small bursts each tick: a
# burstier load than wrk2's even schedule, so p99 here errs high rather than low.
rate=${FIXED_RATE:-$(( ${pg_max_first:-0} / 2 ))}
rate_src=${FIXED_RATE:+FIXED_RATE}
if [ "$rate" -gt 0 ]; then
  body=${bodies[0]}
  paced() {  # label url -> "label RESULT-fields connections=C delay_ms=D"
    local d line r next best_d best_err=9 err
    d=$(awk -v c="$conns" -v R="$rate" 'BEGIN { printf "%.3f", c * 1000 / R }')
    best_d=$d
    for _ in 1 2 3 4 5 6; do
      line=$(DELAY_MS=$d BODY_FILE="$body" wrk -t2 -c"$conns" -d3s -s bench/wrk/post_paced.lua "$2" | grep '^RESULT')
      r=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } printf "%.1f", v["requests"] / (v["duration_us"] / 1e6) }' <<< "$line")
      err=$(awk -v r="$r" -v R="$rate" 'BEGIN { e = r / R - 1; printf "%.4f", e < 0 ? -e : e }')
      echo "#   calibrating $1: c=$conns delay=${d} ms -> $r req/s" >&2
      if awk -v e="$err" -v b="$best_err" 'BEGIN { exit !(e < b) }'; then best_err=$err; best_d=$d; fi
      awk -v e="$err" 'BEGIN { exit !(e < 0.03) }' && break
      # Saturated: no delay already and still short of the target.
      awk -v d="$d" -v r="$r" -v R="$rate" 'BEGIN { exit !(d == 0 && r < R) }' && break
      # Per-connection cycle = overhead (latency, tick rounding) + delay; solve for the delay.
      next=$(awk -v c="$conns" -v d="$d" -v r="$r" -v R="$rate" 'BEGIN {
        over = (r > 0) ? c * 1000 / r - d : 0
        nd = c * 1000 / R - over
        printf "%.3f", nd < 0 ? 0 : nd }')
      d=$next
    done
    DELAY_MS=$best_d BODY_FILE="$body" wrk -t2 -c"$conns" -d"$duration"s -s bench/wrk/post_paced.lua "$2" |
      grep '^RESULT' | sed "s/^RESULT/$1/; s/\$/ connections=$conns delay_ms=$best_d/"
  }
  lines="$(paced podgate "${url[podgate]}")"$'\n'"$(paced go-peer "${url[go-peer]}")"$'\n'
  printf '\n## paced: %s at %s req/s offered (%s), %ss, wrk -t2 + bench/wrk/post_paced.lua\n' \
    "$body" "$rate" "${rate_src:-half of podgate max above}" "$duration"
  printf '%s' "$lines" | awk -v R="$rate" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[NR] = $1 }
    END {
      printf "%-8s %10s %9s %6s %9s %9s %9s %9s %7s\n", "server", "req/s", "x_target", "conns", "delay_ms",
             "p50_ms", "p99_ms", "p99.9_ms", "errors"
      for (n = 1; n <= NR; n++) {
        s = names[n]; r = v[s, "requests"] / (v[s, "duration_us"] / 1e6)
        printf "%-8s %10.0f %9.2f %6d %9.3f %9.3f %9.3f %9.3f %7d\n", s, r, r / R, v[s, "connections"], v[s, "delay_ms"],
               v[s, "p50_us"] / 1000, v[s, "p99_us"] / 1000, v[s, "p999_us"] / 1000, v[s, "errors"]
      }
    }'
  printf 'RSS after all loads: podgate %s; go-peer %s\n' "$(rss $pg_pid)" "$(rss $go_pid)"
  paced_lines=$lines
fi

# Issue 7's goals, from the first body (the 4 KB Pod) of this run. Memory compares peak RSS (VmHWM)
# right after that body's max-rate run, before the larger bodies.
printf '\n## goals (issue 7), %s\n' "${bodies[0]}"
{ printf '%s' "$first_lines"; printf '%s' "${paced_lines:-}"; } | awk -v pg_hwm="$pg_hwm_first" -v go_hwm="$go_hwm_first" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    if ("connections" in v) paced_p99[$1] = v["p99_us"] / 1000
    else rps[$1] = v["requests"] / (v["duration_us"] / 1e6)
    delete v }
  function verdict(ok) { return ok ? "met" : "missed" }
  END {
    x = rps["podgate"] / rps["nginx"]
    printf "podgate/nginx req/s       %6.2f   goal >= 0.60   %s\n", x, verdict(x >= 0.6)
    if ("podgate" in paced_p99)
      printf "podgate p99 at half rate  %6.3f ms  goal < 2 ms  %s\n", paced_p99["podgate"], verdict(paced_p99["podgate"] < 2)
    x = rps["podgate"] / rps["go-peer"]
    printf "podgate/go-peer req/s     %6.2f   goal >= 2.00   %s\n", x, verdict(x >= 2)
    x = pg_hwm / go_hwm
    printf "podgate/go-peer peak RSS  %6.2f   goal <= 0.33   %s  (%.1f vs %.1f MiB)\n", x, verdict(x <= 1 / 3), pg_hwm / 1024, go_hwm / 1024
  }'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
