#!/usr/bin/env bash
# The cost of rules.images.signatures (issue 16), against real cosign signatures in a real registry
# on loopback (Debian's docker-registry, plain HTTP, as bench/imagescans.sh starts it), in one run:
#
#   1. warm: wrk on POST /validate of a Pod whose one image (pinned by digest) is signed, so its
#      signature verdict is cached after the first review: `podgate serve` with a signatures rule
#      covering it ("on"), then the same config without `signatures` ("off"), alternated
#      WARM_ROUNDS times (so drift shows); req/s, latency and podgate's CPU per review. The images are pinned by digest, so with "off" podgate asks the registry
#      nothing: the difference is the signature check and its cache hit alone.
#   2. cold: one review of a Pod with 8 distinct signed images against one of a Pod with 1, each
#      image never seen before (every review names fresh images: each is a signature-cache miss,
#      a full lookup at the registry), alternated REPS times on one keep-alive TLS connection;
#      median and spread. Before them, one untimed 8-image review opens podgate's registry
#      connections, so the rounds measure lookups, not connects. The 8 lookups run in parallel
#      when the 8-image review costs about what the 1-image one does (serial would be ~8x).
#      Run twice: against the registry on loopback (where the 2 cores, shared by podgate, the
#      registry and the client, bound the parallelism), and through bench/delay_proxy.py adding
#      DELAY_MS to every response chunk (a registry across a network, where the overlap shows).
#
# Signatures are cosign's (tests/e2e/build-cosign.sh builds it, once per machine, with Go):
# `cosign sign --key` offline (no transparency log), FORMAT bundle (cosign v3's default: a Sigstore
# bundle as an OCI referrer, found on docker-registry 2.8 through the referrers tag) or legacy
# (the `.sig` tag).
#
# Usage: bench/signatures.sh [WRK_SECONDS] [CONNECTIONS] [REPS] [DELAY_MS]    (defaults 10 32 11 50)
# Env:   BUILD_DIR (default build; built with scripts/build.sh if missing), FORMAT (default bundle),
#        WARM_ROUNDS (default 3: on, off, on, off, on, off; podgate restarted for each)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-10}
conns=${2:-32}
reps=${3:-11}
warm_rounds=${WARM_ROUNDS:-3}
delay=${4:-50}
format=${FORMAT:-bundle}
build_dir=${BUILD_DIR:-build}
[ -x "$build_dir/podgate" ] || bash scripts/build.sh default podgate
podgate=$root/$build_dir/podgate
command -v wrk >/dev/null && command -v docker-registry >/dev/null || bash scripts/install-deps.sh
cosign=$(bash tests/e2e/build-cosign.sh | tail -1)/cosign

work=$(mktemp -d /tmp/podgate-bench-signatures.XXXXXX)
. tests/e2e/cluster.sh
cleanup() { stop_all podgate proxy registry; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 tests/e2e/e2e_tools.py free-ports 1; }

registry="127.0.0.1:$(free_port)"
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: "$work/registry"}}
http: {addr: "$registry", secret: "$(openssl rand -hex 16)"}
EOF
start registry "$work/registry.log" docker-registry serve "$work/registry.yml"
python3 tests/e2e/e2e_tools.py wait-http "http://$registry/v2/" 30

# The images: the warm one, an unsigned one (the sanity check's), 8 to open connections, then per
# round 8 + 1 fresh ones. One line each: "<registry>/bench/<repo>@sha256:...".
push_images() {  # prefix count
  PYTHONPATH=tests/support python3 - "$registry" "$1" "$2" <<'EOF'
import sys
from registry_push import push_image
registry, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(count):
    repo = f"bench/{prefix}-{i}"
    print(f"{registry}/{repo}@{push_image(registry, repo, 'v1', f'{prefix}-{i}')}")
EOF
}
warm_image=$(push_images warm 1)
unsigned_image=$(push_images unsigned 1)
mapfile -t opener_images < <(push_images opener 8)
mapfile -t cold_images < <(push_images cold $((reps * 9)))
mapfile -t delayed_opener_images < <(push_images dopener 8)
mapfile -t delayed_cold_images < <(push_images dcold $((reps * 9)))

# cosign with a home of its own (no docker config, no TUF cache), as tests/support/cosign.cpp runs it.
mkdir -p "$work/cosign-home"
run_cosign() {
  (cd "$work" && env -u COSIGN_REPOSITORY -u COSIGN_EXPERIMENTAL HOME="$work/cosign-home" \
     DOCKER_CONFIG="$work/cosign-home/docker" TUF_ROOT="$work/cosign-home/sigstore" \
     COSIGN_PASSWORD=bench "$cosign" "$@")
}
run_cosign generate-key-pair --output-key-prefix "$work/cosign" >/dev/null 2>&1
format_args=()
[ "$format" = legacy ] && format_args=(--new-bundle-format=false)
t0=$(date +%s.%N)
run_cosign sign --key "$work/cosign.key" --tlog-upload=false --use-signing-config=false -y --allow-http-registry \
  "${format_args[@]}" "$warm_image" "${opener_images[@]}" "${cold_images[@]}" \
  "${delayed_opener_images[@]}" "${delayed_cold_images[@]}" >"$work/cosign-sign.log" 2>&1 ||
  { cat "$work/cosign-sign.log" >&2; exit 1; }
t1=$(date +%s.%N)
signed=$((1 + 16 + 2 * ${#cold_images[@]}))
run_cosign verify --key "$work/cosign.pub" --insecure-ignore-tlog=true --allow-http-registry "$warm_image" \
  >/dev/null 2>"$work/cosign-verify.log" || { cat "$work/cosign-verify.log" >&2; exit 1; }

bash scripts/gen-dev-cert.sh "$work/tls" >/dev/null
serve_port=$(free_port)
serve_metrics=$(free_port)
cat > "$work/on.yaml" <<EOF
rules:
  images:
    action: deny
    resolve: {timeout: 10s, cacheTTL: 10m, errorTTL: 5s}
    signatures:
      - images: ["$registry/bench/**"]
        keys: ["$work/cosign.pub"]
        action: deny
registries: [{host: "$registry", plainHTTP: true}]
server:
  listen: "127.0.0.1:$serve_port"
  metricsListen: "127.0.0.1:$serve_metrics"
  tls: {certFile: "$work/tls/tls.crt", keyFile: "$work/tls/tls.key"}
logging: {level: warn}
EOF
# "off": the same file without the signatures rule (its four lines).
sed '/^    signatures:$/,/^        action: deny$/d' "$work/on.yaml" > "$work/off.yaml"
grep -q "^    signatures:" "$work/off.yaml" && { echo "off.yaml still has signatures" >&2; exit 1; }

pod_review() {  # uid image...: a Pod CREATE AdmissionReview naming the images
  python3 - "$@" <<'EOF'
import json, sys
uid, images = sys.argv[1], sys.argv[2:]
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
  "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "bench", "operation": "CREATE",
  "userInfo": {"username": "bench"},
  "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "bench"},
             "spec": {"containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}}}}))
EOF
}
pod_review warm "$warm_image" > "$work/warm.json"

serve() {  # config: starts podgate and waits for /readyz 200
  start podgate "$work/serve.log" "$podgate" serve --config "$1"
  until curl -sf --cacert "$work/tls/ca.crt" -o /dev/null "https://127.0.0.1:$serve_port/readyz"; do
    kill -0 "${pids[podgate]}" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.02
  done
}
answer() {  # image...: "allowed" or "denied: <message>" for one review of a Pod with them
  pod_review sanity "$@" | curl -sS --fail --cacert "$work/tls/ca.crt" -H 'Content-Type: application/json' \
    --data-binary @- "https://127.0.0.1:$serve_port/validate" |
    python3 -c 'import json, sys; r = json.load(sys.stdin)["response"]
print("allowed" if r["allowed"] else "denied: " + r["status"]["message"])'
}
expect() {  # want image...
  local want=$1 got; shift
  got=$(answer "$@")
  [[ $got == "$want"* ]] || { echo "sanity: $* expected $want, got: $got" >&2; exit 1; }
}
metric() {  # name{labels}: its value from /metrics, 0 when absent
  curl -s "http://127.0.0.1:$serve_metrics/metrics" | awk -v m="$1" '$1 == m {v = $2} END {print v + 0}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
measure() {  # label: wrk against the running podgate (after 2 s of warm-up); RESULT line + cpu_us
  BODY_FILE="$work/warm.json" wrk -t2 -c"$conns" -d2s -s bench/wrk/post.lua "https://127.0.0.1:$serve_port/validate" >/dev/null
  local before line
  before=$(cpu_ticks "${pids[podgate]}")
  line=$(BODY_FILE="$work/warm.json" wrk -t2 -c"$conns" -d"${seconds}s" -s bench/wrk/post.lua \
    "https://127.0.0.1:$serve_port/validate" | grep '^RESULT' | sed "s/^RESULT/$1/")
  echo "$line cpu_us=$(( ($(cpu_ticks "${pids[podgate]}") - before) * 1000000 / $(getconf CLK_TCK) ))"
}

echo "# bench/signatures.sh $seconds $conns $reps   FORMAT=$format   $(date -u '+%Y-%m-%d %H:%M UTC')  commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), podgate $("$podgate" version 2>&1 | head -1) ($build_dir), $("$cosign" version 2>&1 | awk '/^GitVersion/ {print "cosign " $2}'), docker-registry $(docker-registry --version | awk '{print $3}')"
printf '# cosign signed %d images in %.1f s (one invocation, %s format)\n' "$signed" "$(echo "$t1 - $t0" | bc)" "$format"

# ---- 1. warm ----
lines=()
for round in $(seq "$warm_rounds"); do
  for config in on off; do
    serve "$work/$config.yaml"
    expect allowed "$warm_image"
    if [ "$config" = on ]; then
      expect denied "$unsigned_image"   # the rule is really applied
      misses=$(metric 'podgate_image_signature_cache_lookups_total{result="miss"}')
    else
      expect allowed "$unsigned_image"
    fi
    lines+=("$(measure "$config")")
    if [ "$config" = on ]; then
      echo "# round $round, signatures on: signature-cache misses before wrk $misses, after" \
        "$(metric 'podgate_image_signature_cache_lookups_total{result="miss"}'); hits" \
        "$(metric 'podgate_image_signature_cache_lookups_total{result="hit"}')"
    fi
    stop_process podgate
  done
done
echo
echo "## 1. warm: wrk -t2 -c$conns -d${seconds}s, one signed image pinned by digest, TLS keep-alive, on/off alternated $warm_rounds times"
echo "(cpu_us/review: podgate's user+system CPU during the wrk run / requests; unlike req/s, other load on the machine barely moves it)"
printf '%s\n' "${lines[@]}" | awk '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[NR, kv[1]] = kv[2] } name[NR] = $1 }
  END {
    printf "%-12s %10s %9s %9s %9s %7s %15s\n", "signatures", "req/s", "p50_ms", "p99_ms", "p99.9_ms", "errors", "cpu_us/review"
    for (n = 1; n <= NR; n++) {
      rps = v[n, "requests"] / (v[n, "duration_us"] / 1e6); cpu = v[n, "cpu_us"] / v[n, "requests"]
      printf "%-12s %10.0f %9.3f %9.3f %9.3f %7d %15.1f\n", name[n], rps, v[n, "p50_us"] / 1000, v[n, "p99_us"] / 1000,
             v[n, "p999_us"] / 1000, v[n, "errors"], cpu
      sum_rps[name[n]] += rps; sum_cpu[name[n]] += cpu; sum_p50[name[n]] += v[n, "p50_us"]; k[name[n]]++
    }
    for (s in k) { m_rps[s] = sum_rps[s] / k[s]; m_cpu[s] = sum_cpu[s] / k[s]; m_p50[s] = sum_p50[s] / k[s] / 1000 }
    printf "mean on:  %.0f req/s, p50 %.3f ms, %.1f cpu_us/review\n", m_rps["on"], m_p50["on"], m_cpu["on"]
    printf "mean off: %.0f req/s, p50 %.3f ms, %.1f cpu_us/review\n", m_rps["off"], m_p50["off"], m_cpu["off"]
    printf "ratio on/off: req/s %.2f, cpu per review %.2f\n", m_rps["on"] / m_rps["off"], m_cpu["on"] / m_cpu["off"]
  }'

# ---- 2. cold ----
cold() {  # title config opener-images-var cold-images-var
  local -n openers=$3 images=$4
  serve "$2"
  expect allowed "${openers[@]}"
  local misses_before misses_after
  misses_before=$(metric 'podgate_image_signature_cache_lookups_total{result="miss"}')
python3 - "$1" "$serve_port" "$work/tls/ca.crt" "$reps" "${images[@]}" <<'EOF'
import http.client, json, ssl, statistics, sys, time
title, port, ca, reps, images = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5:]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
def review(uid, imgs):
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "bench",
        "operation": "CREATE", "userInfo": {"username": "bench"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": uid, "namespace": "bench"},
                   "spec": {"containers": [{"name": f"c{i}", "image": m} for i, m in enumerate(imgs)]}}}})
    t0 = time.perf_counter()
    conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read()
    ms = (time.perf_counter() - t0) * 1000
    answer = json.loads(raw)["response"]
    if resp.status != 200 or not answer["allowed"]:
        sys.exit(f"cold review {uid}: expected allowed, got {resp.status} {raw[:300]}")
    return ms
review("connect", [])  # the TLS handshake to podgate, outside the timings
one, eight = [], []
for r in range(reps):
    batch = images[r * 9:(r + 1) * 9]
    # Alternate which goes first, so neither always follows the other.
    if r % 2 == 0:
        one.append(review(f"one-{r}", batch[:1])); eight.append(review(f"eight-{r}", batch[1:]))
    else:
        eight.append(review(f"eight-{r}", batch[1:])); one.append(review(f"one-{r}", batch[:1]))
print()
print(f"## 2. cold, {title}: each review's images never seen before (signature-cache misses), {reps} rounds, one keep-alive TLS connection")
print(f"{'pod':<22} {'median_ms':>10} {'min_ms':>8} {'max_ms':>8}")
for name, v in (("1 signed image", one), ("8 signed images", eight)):
    print(f"{name:<22} {statistics.median(v):>10.2f} {min(v):>8.2f} {max(v):>8.2f}")
print(f"ratio median 8 images / 1 image: {statistics.median(eight) / statistics.median(one):.2f} (8 serial lookups would be ~8)")
EOF
  misses_after=$(metric 'podgate_image_signature_cache_lookups_total{result="miss"}')
  echo "signature-cache misses during the cold rounds: $((misses_after - misses_before)) (expected $((reps * 9)))"
  stop_process podgate
}
cold "registry on loopback" "$work/on.yaml" opener_images cold_images

# The same behind the delay proxy: the config and the images name the proxy's address instead.
proxy="127.0.0.1:$(free_port)"
start proxy "$work/proxy.log" python3 bench/delay_proxy.py "${proxy#*:}" 127.0.0.1 "${registry#*:}" "$delay"
python3 tests/e2e/e2e_tools.py wait-http "http://$proxy/v2/" 30
sed -e "s#\"$registry/#\"$proxy/#" -e "s#host: \"$registry\"#host: \"$proxy\"#" "$work/on.yaml" > "$work/delayed.yaml"
grep -qE "${registry}[/\"]" "$work/delayed.yaml" && { echo "delayed.yaml still names $registry" >&2; exit 1; }
delayed_openers=("${delayed_opener_images[@]/#$registry/$proxy}")
delayed_cold=("${delayed_cold_images[@]/#$registry/$proxy}")
cold "registry behind delay_proxy.py, +$delay ms per response chunk" "$work/delayed.yaml" delayed_openers delayed_cold
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
