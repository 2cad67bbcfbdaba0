#!/usr/bin/env bash
# Warm-path throughput and latency of POST /validate over TLS keep-alive (issues 7, 17 and 19), the
# servers one after another in one run, for each benchmark body:
#   nginx        answering a fixed body (podgate's own answer to that review): the ceiling;
#   podgate      `podgate serve` with its embedded defaults;
#   pg-baseline  `podgate serve` with `rules.podSecurity: {level: baseline}` (issue 17);
#   go-peer      bench/peers/go, the net/http + encoding/json webhook a team would write instead;
#   psa          Pod Security Admission's standalone webhook (k8s.io/pod-security-admission/cmd/webhook,
#                tests/e2e/build-psa-webhook.sh), defaults enforce/audit/warn = baseline, latest, its
#                namespace informer on an etcd + kube-apiserver on loopback (tests/e2e/cluster.sh).
# Then, for the first body (the 4 KB Pod), a paced run of podgate and the Go peer at a fixed offered
# rate, half of podgate's measured maximum, for the latency at that load.
#
# PSA enforces on Pods only: on a Deployment it answers allowed, with warnings when the template
# violates its warn level. Its warn and audit levels are baseline here so that it evaluates the
# Deployment's template at all (with both at privileged it answers without looking at it); the
# evaluation is done once and shared by enforce, audit and warn, as PSA caches it per level+version.
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
#   PSS_CONFIG  podgate's config for the pg-baseline row (default: a file with only
#               `rules: {podSecurity: {level: baseline}}`, written by the script)
#   PSA         0 leaves out the PSA webhook and the cluster it needs (default 1: the first run
#               builds it, and kube-apiserver and etcd if missing: tests/e2e/build-psa-webhook.sh,
#               tests/e2e/build-tools.sh)
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
# The machine's Go when it is new enough, else the toolchain fetched into .cache/go/ (install-go.sh).
# shellcheck source=scripts/lib/go-env.sh
. scripts/lib/go-env.sh
podgate_go_env || { echo "warm_path.sh: no Go to build the Go peer with (above)" >&2; exit 2; }
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
with_psa=${PSA:-1}
if [ "$with_psa" = 1 ]; then
  psa_bin=$(bash tests/e2e/build-psa-webhook.sh | tail -1)
  e2e_bindir=$(bash tests/e2e/build-tools.sh | tail -1)
fi

work=$(mktemp -d)
bg_pids=()
. tests/e2e/cluster.sh  # start, stop_all and the loopback cluster; its processes are in pids[NAME]
cleanup() {
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_all psa kube-apiserver etcd
  wait 2>/dev/null || true
  rm -rf "$work"
}
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
bg_pids+=($!)

pg_port=$(free_port); pg_metrics=$(free_port)
"$podgate" serve --listen 127.0.0.1:"$pg_port" --metrics-listen 127.0.0.1:"$pg_metrics" \
  --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" --log-level warn 2>"$work/podgate.log" &
pg_pid=$!
bg_pids+=("$pg_pid")

# pg-baseline: the same binary and flags, with the Pod Security Standards at baseline (issue 17).
pss_config=${PSS_CONFIG:-$work/podgate-baseline.yaml}
if [ -z "${PSS_CONFIG:-}" ]; then
  printf '# bench/warm_path.sh: podgate with the Pod Security Standards at baseline (issue 17)\nrules:\n  podSecurity:\n    level: baseline\n' > "$pss_config"
fi
pss_port=$(free_port); pss_metrics=$(free_port)
"$podgate" serve --config "$pss_config" --listen 127.0.0.1:"$pss_port" --metrics-listen 127.0.0.1:"$pss_metrics" \
  --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" --log-level warn 2>"$work/pg-baseline.log" &
pss_pid=$!
bg_pids+=("$pss_pid")

go_port=$(free_port)
"$go_peer" -listen 127.0.0.1:"$go_port" -tls-cert "$work/tls/tls.crt" -tls-key "$work/tls/tls.key" 2>"$work/go-peer.log" &
go_pid=$!
bg_pids+=("$go_pid")

# psa: etcd and kube-apiserver on loopback for its namespace informer, every namespace the reviews
# name created before it starts, its /readyz (the informer synced) awaited.
if [ "$with_psa" = 1 ]; then
  cluster_init "$work/cluster" "$e2e_bindir"
  start_etcd
  start_apiserver
  for ns in $(python3 -c 'import json, sys
print(" ".join(sorted({json.load(open(p))["request"]["namespace"] for p in sys.argv[1:]})))' "${bodies[@]}" "$privileged"); do
    k get namespace "$ns" >/dev/null 2>&1 || k create namespace "$ns" >/dev/null
  done
  cat > "$work/psa-config.yaml" <<'YAML'
apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults:
  enforce: baseline
  enforce-version: latest
  audit: baseline
  audit-version: latest
  warn: baseline
  warn-version: latest
exemptions: {usernames: [], runtimeClasses: [], namespaces: []}
YAML
  psa_port=$(free_port)
  # The admin's kubeconfig: the webhook only lists and watches Namespaces (and lists Pods on a
  # namespace update, which no review here is).
  start psa "$work/psa.log" "$psa_bin" --config "$work/psa-config.yaml" \
    --kubeconfig "$cluster_work/kubeconfig-admin" --bind-address 127.0.0.1 --secure-port "$psa_port" \
    --tls-cert-file "$work/tls/tls.crt" --tls-private-key-file "$work/tls/tls.key"
  psa_pid=${pids[psa]}
  for _ in $(seq 100); do
    [ "$(curl -s --cacert "$work/tls/ca.crt" "https://127.0.0.1:$psa_port/readyz" 2>/dev/null)" = ok ] && break
    kill -0 "$psa_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ "$(curl -s --cacert "$work/tls/ca.crt" "https://127.0.0.1:$psa_port/readyz")" = ok ] ||
    { tail -20 "$work/psa.log" >&2; echo "warm_path.sh: the PSA webhook never got ready" >&2; exit 1; }
fi

wait_port "$nginx_port"; wait_port "$pg_port"; wait_port "$pss_port"; wait_port "$go_port"
sleep 0.5
idle_pg=$(rss $pg_pid); idle_pss=$(rss $pss_pid); idle_go=$(rss $go_pid)
servers=(nginx podgate pg-baseline go-peer)
declare -A url=(
  [podgate]="https://127.0.0.1:$pg_port/validate"
  [pg-baseline]="https://127.0.0.1:$pss_port/validate"
  [go-peer]="https://127.0.0.1:$go_port/validate"
)
declare -A pid_of=([podgate]=$pg_pid [pg-baseline]=$pss_pid [go-peer]=$go_pid)
if [ "$with_psa" = 1 ]; then
  servers+=(psa)
  url[psa]="https://127.0.0.1:$psa_port/validate"
  pid_of[psa]=$psa_pid
  idle_psa=$(rss "$psa_pid")
  psa_version="$("$psa_bin" --version 2>&1) (k8s.io/pod-security-admission webhook)"
fi
nginx_url() { echo "https://127.0.0.1:$nginx_port/b$1"; }
rss_all() {  # "podgate VmRSS ..; pg-baseline ..; ..." for every server but nginx
  local s out=""
  for s in "${servers[@]:1}"; do out+="${out:+; }$s $(rss "${pid_of[$s]}")"; done
  echo "$out"
}

# Sanity: every server must answer each body with a correct AdmissionReview (uid echoed, allowed,
# no warning), and each webhook must deny the privileged Pod, before anything is measured.
expect() {  # label url body_file want: true (allowed, no warnings) | false (denied, 403) | warn:TEXT
            # (allowed, a warning containing TEXT)
  # The answer goes through a file: PSA echoes the whole request back, more than one argument holds.
  if ! curl -sS --fail --cacert "$work/tls/ca.crt" -H 'Content-Type: application/json' \
            --data-binary @"$3" -o "$work/answer.json" "$2"; then
    echo "sanity: $1: POST $3 failed" >&2; exit 1
  fi
  python3 - "$1" "$3" "$4" "$work/answer.json" <<'PY' || exit 1
import json, sys
label, path, want, raw = sys.argv[1], sys.argv[2], sys.argv[3], open(sys.argv[4]).read()
uid = json.load(open(path))["request"]["uid"]
doc = json.loads(raw)
resp = doc.get("response") or {}
warnings = resp.get("warnings") or []
allowed = want != "false"
ok = (doc.get("apiVersion") == "admission.k8s.io/v1" and doc.get("kind") == "AdmissionReview"
      and resp.get("uid") == uid and resp.get("allowed") is allowed
      and (allowed or (resp.get("status") or {}).get("code") == 403)
      and (want != "true" or not warnings)
      and (not want.startswith("warn:") or any(want[5:] in w for w in warnings)))
if not ok:
    sys.exit(f"sanity: {label}: {path}: expected {want} for uid {uid}, got {raw[:400]}")
PY
}
for i in "${!bodies[@]}"; do
  expect nginx "$(nginx_url "$i")" "${bodies[$i]}" true
  for s in "${servers[@]:1}"; do expect "$s" "${url[$s]}" "${bodies[$i]}" true; done
done
for s in "${servers[@]:1}"; do expect "$s" "${url[$s]}" "$privileged" false; done
# Baseline, not only podgate's own rules: the first Pod and Deployment bodies with hostPID: true.
# podgate's defaults allow them; with the standards on podgate denies both; PSA denies the Pod and
# warns on the Deployment (it enforces on Pods only).
pss_on=0
grep -v '^[[:space:]]*#' "$pss_config" | grep -q podSecurity && pss_on=1
pod_body=""; deploy_body=""
for b in "${bodies[@]}"; do
  kind=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["request"]["kind"]["kind"])' "$b")
  [ "$kind" = Pod ] && [ -z "$pod_body" ] && pod_body=$b
  [ "$kind" = Deployment ] && [ -z "$deploy_body" ] && deploy_body=$b
done
hostpid_checks=""
for b in $pod_body $deploy_body; do
  out="$work/hostpid-$(basename "$b")"
  python3 - "$b" "$out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
req = doc["request"]
req["uid"] = req["uid"][:-4] + "0717"
obj = req["object"]
spec = obj["spec"] if req["kind"]["kind"] == "Pod" else obj["spec"]["template"]["spec"]
spec["hostPID"] = True
json.dump(doc, open(sys.argv[2], "w"))
PY
  expect podgate "${url[podgate]}" "$out" true
  if [ "$pss_on" = 1 ]; then expect pg-baseline "${url[pg-baseline]}" "$out" false; fi
  if [ "$with_psa" = 1 ]; then
    if [ "$b" = "$pod_body" ]; then expect psa "${url[psa]}" "$out" false; else expect psa "${url[psa]}" "$out" warn:hostPID; fi
  fi
  hostpid_checks+=" $(basename "$b")"
done

tls_of() {  # the protocol and cipher wrk will get (same OpenSSL defaults as wrk)
  openssl s_client -connect 127.0.0.1:"$1" -servername localhost </dev/null 2>/dev/null |
    awk '/^New,/ { sub(",", "", $2); print $2 "/" $NF; exit }'
}

echo "# bench/warm_path.sh $duration $conns   $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), $(nginx -v 2>&1 | sed 's/.*: //'), podgate $("$podgate" version 2>&1 | head -1) ($build_dir), go-peer $(go version | awk '{print $3}')${psa_version:+, psa $psa_version}"
echo "# pg-baseline config $pss_config: $(grep -v '^#' "$pss_config" | tr -s ' \n' ' ')"
[ "$pss_on" = 1 ] || echo "# NOTE: that config does not set rules.podSecurity: pg-baseline runs podgate's own rules only"
tls_line="# TLS: nginx $(tls_of "$nginx_port")"
for s in "${servers[@]:1}"; do tls_line+=", $s $(tls_of "$(sed 's|.*:\([0-9]*\)/.*|\1|' <<< "${url[$s]}")")"; done
echo "$tls_line"
echo "# sanity: ${servers[*]} answer every body allowed with its uid and no warning; ${servers[*]:1} deny $privileged"
echo "# sanity, hostPID:true versions of${hostpid_checks}: podgate allows them$([ "$pss_on" = 1 ] && echo ', pg-baseline denies them')$([ "$with_psa" = 1 ] && echo ', psa denies the Pod and warns on the Deployment')"
idle_line="# idle RSS: podgate $idle_pg; pg-baseline $idle_pss; go-peer $idle_go"
[ "$with_psa" = 1 ] && idle_line+="; psa $idle_psa (informer synced)"
echo "$idle_line"

run() {  # label url body seconds -> RESULT line with the label in front
  BODY_FILE="$3" wrk -t2 -c"$conns" -d"$4s" -s bench/wrk/post.lua "$2" | grep '^RESULT' | sed "s/^RESULT/$1/"
}

# RESULT lines -> one table: req/s from requests/duration, latencies in ms, ratio to nginx, and the
# podgate/go-peer ratio.
table() {
  awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[NR] = $1 }
    END {
      printf "%-11s %10s %9s %9s %9s %7s %8s\n", "server", "req/s", "p50_ms", "p99_ms", "p99.9_ms", "errors", "x_nginx"
      for (n = 1; n <= NR; n++) {
        s = names[n]; rps[s] = v[s, "requests"] / (v[s, "duration_us"] / 1e6)
      }
      for (n = 1; n <= NR; n++) {
        s = names[n]
        printf "%-11s %10.0f %9.3f %9.3f %9.3f %7d %8.2f\n", s, rps[s], v[s, "p50_us"] / 1000, v[s, "p99_us"] / 1000,
               v[s, "p999_us"] / 1000, v[s, "errors"], rps[s] / rps["nginx"]
      }
      printf "ratio podgate/go-peer req/s: %.2f\n", rps["podgate"] / rps["go-peer"]
      if ("psa" in rps)
        printf "ratio pg-baseline/psa req/s: %.2f, p99: %.2f\n", rps["pg-baseline"] / rps["psa"], v["pg-baseline", "p99_us"] / v["psa", "p99_us"]
    }'
}
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }

pg_max_first=""
all_lines=""
for i in "${!bodies[@]}"; do
  body=${bodies[$i]}
  lines=""
  for s in "${servers[@]}"; do
    if [ "$s" = nginx ]; then u=$(nginx_url "$i"); else u=${url[$s]}; fi
    run "$s" "$u" "$body" 2 >/dev/null  # warm-up: TLS sessions, caches, Go's heap
    lines+="$(run "$s" "$u" "$body" "$duration")"$'\n'
  done
  printf '\n## %s (%s bytes), wrk -t2 -c%s -d%ss, TLS keep-alive\n' "$body" "$(wc -c < "$body")" "$conns" "$duration"
  printf '%s' "$lines" | table
  printf 'RSS after this load: %s\n' "$(rss_all)"
  all_lines+=$(printf '%s' "$lines" | sed "s/\$/ body=$i pss_hwm_kb=$(hwm "$pss_pid") psa_hwm_kb=$( [ "$with_psa" = 1 ] && hwm "$psa_pid" || echo 0)/")$'\n'
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
  printf 'RSS after all loads: %s\n' "$(rss_all)"
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

# Issue 17's goals, per body: pg-baseline against the PSA webhook, req/s at a p99 no worse, and peak
# RSS (VmHWM right after that body's runs; both only grow through the run).
if [ "$with_psa" = 1 ]; then
  printf '\n## goals (issue 17): pg-baseline against psa%s\n' "$([ "$pss_on" = 1 ] || echo ' (NOTE: pg-baseline without rules.podSecurity)')"
  printf '%s' "$all_lines" | awk -v bodies="${bodies[*]}" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      b = v["body"]; rps[$1, b] = v["requests"] / (v["duration_us"] / 1e6); p99[$1, b] = v["p99_us"] / 1000
      pss_hwm[b] = v["pss_hwm_kb"]; psa_hwm[b] = v["psa_hwm_kb"]; if (!(b in seen)) { seen[b] = 1; order[++nb] = b }
      delete v }
    function verdict(ok) { return ok ? "met" : "missed" }
    END {
      split(bodies, name, " ")
      for (n = 1; n <= nb; n++) {
        b = order[n]; x = rps["pg-baseline", b] / rps["psa", b]
        printf "%s\n", name[b + 1]
        printf "  req/s  pg-baseline/psa   %6.2f   goal >= 3.00   %s  (%.0f vs %.0f)\n", x, verdict(x >= 3), rps["pg-baseline", b], rps["psa", b]
        printf "  p99    pg-baseline, psa  %.3f ms vs %.3f ms   goal: no worse   %s\n", p99["pg-baseline", b], p99["psa", b], verdict(p99["pg-baseline", b] <= p99["psa", b])
        x = pss_hwm[b] / psa_hwm[b]
        printf "  peak RSS pg-baseline/psa %6.2f   goal <= 0.50   %s  (%.1f vs %.1f MiB)\n", x, verdict(x <= 0.5), pss_hwm[b] / 1024, psa_hwm[b] / 1024
      }
    }'
fi
# Issue 19's goals: podgate against nginx on every body (the goal per fixture; a body of BODIES
# not listed here is reported without one), its p99 at half its rate, and its idle RSS.
printf '\n## goals (issue 19): podgate/nginx per body, host nginx req/s beside each\n'
printf '%s' "$all_lines" | awk -v bodies="${bodies[*]}" -v paced_p99="$(printf '%s' "${paced_lines:-}" |
    awk '$1 == "podgate" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "p99_us") print kv[2] / 1000 } }')" \
    -v idle_mib="$(sed 's/.*VmRSS \([0-9.]*\) MiB.*/\1/' <<< "$idle_pg")" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    rps[$1, v["body"]] = v["requests"] / (v["duration_us"] / 1e6); if (!(v["body"] in seen)) { seen[v["body"]] = 1; order[++nb] = v["body"] }
    delete v }
  function verdict(ok) { return ok ? "met" : "missed" }
  END {
    split(bodies, name, " ")
    goal["pod-clean-4k.json"] = 0.65; goal["deployment-clean-30k.json"] = 0.5; goal["pod-clean-200k.json"] = 0.5
    for (n = 1; n <= nb; n++) {
      b = order[n]; file = name[b + 1]; sub(".*/", "", file); x = rps["podgate", b] / rps["nginx", b]
      if (file in goal)
        printf "%-28s podgate/nginx %5.2f  goal >= %.2f  %-6s (podgate %.0f, nginx %.0f req/s)\n", file, x, goal[file], verdict(x >= goal[file]), rps["podgate", b], rps["nginx", b]
      else
        printf "%-28s podgate/nginx %5.2f  (podgate %.0f, nginx %.0f req/s)\n", file, x, rps["podgate", b], rps["nginx", b]
    }
    if (paced_p99 != "") printf "%-28s p99 at half rate %.3f ms  goal < 1 ms  %s\n", "", paced_p99, verdict(paced_p99 < 1)
    printf "%-28s idle RSS %.1f MiB  goal < 20 MB (19.07 MiB)  %s\n", "", idle_mib, verdict(idle_mib * 1048576 < 20e6)
  }'
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
