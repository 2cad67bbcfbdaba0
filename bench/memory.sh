#!/usr/bin/env bash
# Memory (issue 7): VmRSS and VmHWM (peak) of `podgate serve`, and bytes per entry of its caches.
#
#   1. `podgate serve` idle with its embedded defaults (no --config), and after REVIEWS reviews of
#      the 4 KB Pod over one kept-alive HTTPS connection.                      goal: idle < 20 MB
#   2. The digest cache with 100k entries: measured IN-PROCESS (bench/memory_probe.cpp builds the
#      real registry::DigestCache and resolves 100k distinct tags through a fetch that answers at
#      once), since a loopback registry with 100k tags takes too long to fill. Single-arch
#      manifests, then indexes with 2 platform children.
#   3. 100k scans: a SQLite scan database of SCANS records (20 findings each), `podgate serve`
#      with the image and scan rules on: RSS after start, then after reviews naming every stored
#      digest (100 digest-pinned containers per review, no registry involved) have warmed its
#      CachedStore (bound: 100,000 entries, the server's default, lib/scan/cached_store.cpp).
#      The same cache measured in-process for bytes per entry.
#
# Usage: bench/memory.sh [SCANS] [REVIEWS]     (defaults 100000 and 2000)
# Env:   BUILD_DIR (default build-bench; RelWithDebInfo, configured if missing, -j2)
#        SCAN_DB   reuse this scan database (and SCAN_DB.digests) instead of writing a fresh one
set -euo pipefail
cd "$(dirname "$0")/.."
scans=${1:-100000}
reviews=${2:-2000}
dir=${BUILD_DIR:-build-bench}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$dir" -j 2 --target podgate podgate_bench_memory_probe >/dev/null
podgate=$(pwd)/$dir/podgate
probe=$(pwd)/$dir/bench/podgate_bench_memory_probe

tmp=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tmp/tls.key" -out "$tmp/tls.crt" 2>/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_serve [CONFIG]: starts podgate serve in the background (pid in $pid, port in $port).
start_serve() {
  port=$(free_port)
  local metrics_port config=()
  metrics_port=$(free_port)
  [ -n "${1:-}" ] && config=(--config "$1")
  "$podgate" serve "${config[@]}" --listen "127.0.0.1:$port" --metrics-listen "127.0.0.1:$metrics_port" \
    --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --log-level warn 2>"$tmp/serve.log" &
  pid=$!
  for _ in $(seq 100); do
    curl -s --cacert "$tmp/tls.crt" "https://localhost:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "podgate serve did not start:" >&2
  cat "$tmp/serve.log" >&2
  exit 1
}
stop_serve() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

row() {  # row LABEL: VmRSS, VmHWM and threads of $pid
  awk -v label="$1" '/^VmRSS:/ {rss=$2} /^VmHWM:/ {hwm=$2} /^Threads:/ {thr=$2}
    END {printf "%-52s %9.1f %9.1f %7d\n", label, rss/1024, hwm/1024, thr}' "/proc/$pid/status"
}

# post MODE COUNT: COUNT reviews over one kept-alive HTTPS connection. MODE "pod4k" sends the 4 KB
# fixture; "digests FILE" sends Pods of 100 containers pinned to the digests in FILE, in order.
post() {
  python3 - "$port" "$tmp/tls.crt" "$@" <<'EOF'
import http.client, json, ssl, sys
port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("localhost", port, context=ctx)
def send(body):
    conn.request("POST", "/validate", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status == 200 and b'"allowed":true' in data
ok = sent = 0
if mode == "pod4k":
    body = open("tests/fixtures/reviews/pod-clean-4k.json", "rb").read()
    for _ in range(int(sys.argv[4])):
        ok += send(body); sent += 1
else:
    digests = [l.strip() for l in open(sys.argv[4]) if l.strip()]
    for start in range(0, len(digests), 100):
        # A host that refuses at once: with the scan rule on, a pinned reference is fetched for an
        # index's children; the fetch fails fast (no DNS, no timeout) and the pinned digest is
        # still looked up in the scan cache, which is what this measures.
        containers = [{"name": f"c{i}", "image": f"127.0.0.1:1/team/app@{d}"}
                      for i, d in enumerate(digests[start:start + 100])]
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": f"warm-{start}", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"}, "name": "warm", "namespace": "default",
            "operation": "CREATE", "userInfo": {"username": "bench"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "warm", "namespace": "default"},
                       "spec": {"containers": containers}}, "oldObject": None, "dryRun": False}}
        ok += send(json.dumps(review).encode()); sent += 1
print(f"{sent} reviews sent, {ok} allowed", file=sys.stderr)
if ok != sent:
    sys.exit(1)
EOF
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $podgate"
echo
printf '%-52s %9s %9s %7s\n' "podgate serve" VmRSS_MiB VmHWM_MiB threads
start_serve
sleep 1
row "idle, embedded defaults"
idle_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
post pod4k "$reviews" 2>"$tmp/post.log" || { cat "$tmp/post.log" >&2; exit 1; }
row "after $reviews reviews of the 4 KB Pod (1 connection)"
stop_serve

db=${SCAN_DB:-$tmp/scans.db}
if [ -z "${SCAN_DB:-}" ] || [ ! -f "$db" ]; then
  "$probe" make-scan-db "$db" "$scans" 20 "$db.digests" >/dev/null
fi
cat >"$tmp/scan.yaml" <<EOF
rules:
  images:
    action: deny
    onResolveError: allow
    scan:
      action: deny
scans:
  database: "$db"
EOF
start_serve "$tmp/scan.yaml"
sleep 1
row "scan rule on, $(wc -l <"$db.digests") scans in the database, cold"
# Two passes over every digest, in the same order. The second is not all hits: the 100,000 bound
# is split into 16 exact-LRU shards of 6,250, and a shard given more digests than that misses on
# each of its digests in a cyclic scan, so they are read again from SQLite (and, past the 60 s
# ttl, any entry would be). The memory_probe cached-store run below counts the same effect.
started=$SECONDS
post digests "$db.digests" 2>"$tmp/post.log" || { cat "$tmp/post.log" >&2; exit 1; }
row "... after reviews naming each stored digest once"
pass1=$((SECONDS - started))
started=$SECONDS
post digests "$db.digests" 2>"$tmp/post.log" || { cat "$tmp/post.log" >&2; exit 1; }
row "... and once more"
pass2=$((SECONDS - started))
stop_serve
echo "scan database: $(du -h "$db" | cut -f1), 20 findings per scan; pass 1 took ${pass1} s, pass 2 ${pass2} s"

echo
echo "in-process caches (bench/memory_probe.cpp: the structures alone, not a running server)"
"$probe" digest-cache 100000 0
"$probe" digest-cache 100000 2
"$probe" cached-store "$db" "$scans"
echo
awk -v kib="$idle_kib" 'BEGIN {printf "goal: idle under 20 MB: %.1f MiB (%.1f MB), %s\n", kib/1024, kib*1024/1e6, kib*1024 < 20e6 ? "met" : "MISSED"}'
