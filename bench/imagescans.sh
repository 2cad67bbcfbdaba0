#!/usr/bin/env bash
# The shared scan state at size (issue 14): COUNT ImageScans of FINDINGS findings each in a real
# kube-apiserver (etcd on loopback), then, in one run:
#   - the import: `podgate scans import --kubeconfig` of COUNT Trivy reports (one apply each);
#   - their size: the ImageScans' JSON as the apiserver serves it, and etcd's database growth;
#   - a new replica: `podgate serve` with scans.store kubernetes, the time from its start to
#     /readyz 200 (the first sync) and its RSS after it;
#   - a warm review's cost: wrk on POST /validate of a Pod whose image is one of the scanned
#     digests, against the kubernetes store, then against the sqlite store holding the same
#     scans, then the kubernetes store again (so drift shows), same podgate, same machine.
#
# Findings per report follow a realistic spread (8% CRITICAL, 20% HIGH, 32% MEDIUM, 28% LOW,
# 12% UNKNOWN); with the default scans.findingsFloor (HIGH) an ImageScan lists the CRITICAL and
# HIGH ones and counts the rest. FLOOR=UNKNOWN lists every finding (the worst case for etcd).
#
# Usage: bench/imagescans.sh [COUNT] [FINDINGS] [WRK_SECONDS]    (defaults 10000 50 10)
# Env:   BUILD_DIR (default build; built with scripts/build.sh if missing), FLOOR (default HIGH),
#        PODGATE_E2E_BINDIR (kube-apiserver, kubectl, etcd; else tests/e2e/build-tools.sh builds them)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${1:-10000}
findings=${2:-50}
seconds=${3:-10}
floor=${FLOOR:-HIGH}
build_dir=${BUILD_DIR:-build}
[ -x "$build_dir/podgate" ] || bash scripts/build.sh default podgate
podgate=$root/$build_dir/podgate
command -v wrk >/dev/null && command -v docker-registry >/dev/null || bash scripts/install-deps.sh
bindir=$(bash tests/e2e/build-tools.sh | tail -1)

work=$(mktemp -d /tmp/podgate-bench-imagescans.XXXXXX)
# The SQLite copy's file on tmpfs when there is one: the review's cost is measured, not fsync.
sqlite_dir=$work
[ -d /dev/shm ] && sqlite_dir=$(mktemp -d /dev/shm/podgate-bench-imagescans.XXXXXX)
. tests/e2e/cluster.sh
cleanup() {
  stop_all podgate registry kube-apiserver etcd
  rm -rf "$work" "$sqlite_dir"
}
trap cleanup EXIT
free_port() { python3 tests/e2e/e2e_tools.py free-ports 1; }
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
etcd_db_bytes() {
  curl -sS -X POST "http://127.0.0.1:$etcd_port/v3/maintenance/status" -d '{}' |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("dbSizeInUse", d["dbSize"]))'
}
ck() { k --request-timeout=120s "$@"; }  # a list of 10,000 objects takes a while

echo "# bench/imagescans.sh $count ImageScans x $findings findings, floor $floor; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
cluster_init "$work" "$bindir" && start_etcd && start_apiserver || { echo "the cluster did not start" >&2; exit 1; }
ck apply -f charts/podgate/crds/imagescans.podgate.io.yaml >/dev/null
ck wait --for=condition=Established --timeout=30s crd/imagescans.podgate.io >/dev/null

# One real image (the warm review's), in a registry on loopback; the rest are synthetic digests.
registry="127.0.0.1:$(free_port)"
cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: "$work/registry"}}
http: {addr: "$registry", secret: "$(openssl rand -hex 16)"}
EOF
start registry "$work/registry.log" docker-registry serve "$work/registry.yml"
python3 tests/e2e/e2e_tools.py wait-http "http://$registry/v2/" 30
digest=$(python3 tests/e2e/e2e_tools.py push-image "$registry" bench/app 1.0 bench-app)

mkdir -p "$work/reports"
python3 - "$work/reports" "$count" "$findings" "$registry/bench/app:1.0" "$digest" <<'EOF'
import hashlib, json, sys, datetime
out, count, findings, image, digest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
spread = ["CRITICAL"] * 8 + ["HIGH"] * 20 + ["MEDIUM"] * 32 + ["LOW"] * 28 + ["UNKNOWN"] * 12
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
for i in range(count):
    d = digest if i == 0 else "sha256:" + hashlib.sha256(f"bench-image-{i}".encode()).hexdigest()
    vulns = [{"VulnerabilityID": f"CVE-20{20 + j % 6}-{10000 + (i * 7 + j) % 90000}",
              "PkgName": f"lib{['ssl', 'xml2', 'curl', 'expat', 'zstd', 'png'][j % 6]}{j % 4}",
              "InstalledVersion": f"1.{j % 9}.{i % 13}-{j % 5}+deb12u{j % 3}",
              "FixedVersion": "" if j % 4 == 0 else f"1.{j % 9}.{i % 13 + 1}-1",
              "Severity": spread[(j * 100) // findings % 100]} for j in range(findings)]
    report = {"SchemaVersion": 2, "CreatedAt": now, "ArtifactName": image if i == 0 else f"bench/img-{i}:1.0",
              "ArtifactType": "container_image",
              "Metadata": {"RepoDigests": [f"bench/img@{d}"], "ImageConfig": {}},
              "Trivy": {"Version": "0.69.1"},
              "Results": [{"Target": "debian 12", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}]}
    with open(f"{out}/r{i:05d}.json", "w") as f:
        json.dump(report, f)
EOF

serve_port=$(free_port)
serve_metrics=$(free_port)
cat > "$work/kubernetes.yaml" <<EOF
rules:
  images:
    action: deny
    resolve: {cacheTTL: 10m}
    scan: {action: deny, severityThreshold: CRITICAL, onUnscanned: deny, ignore: []}
registries: [{host: "$registry", plainHTTP: true}]
kubernetes: {kubeconfig: "$work/kubeconfig-admin", qps: 10000, burst: 10000, timeout: 60s}
scans: {store: kubernetes, findingsFloor: $floor, syncTimeout: 10m}
server:
  listen: "127.0.0.1:$serve_port"
  metricsListen: "127.0.0.1:$serve_metrics"
  tls: {certFile: "$work/tls/tls.crt", keyFile: "$work/tls/tls.key"}
logging: {level: warn}
EOF
sed -e "s#store: kubernetes, findingsFloor: $floor, syncTimeout: 10m#database: \"$sqlite_dir/scans.db\"#" \
  "$work/kubernetes.yaml" > "$work/sqlite.yaml"
bash scripts/gen-dev-cert.sh "$work/tls" >/dev/null

# The import (ls sorts the files, so the real image's report goes first).
db_before=$(etcd_db_bytes)
t0=$(date +%s.%N)
(cd "$work/reports" && ls | xargs -n 2000 "$podgate" scans import -c "$work/kubernetes.yaml" > /dev/null)
t1=$(date +%s.%N)
db_after=$(etcd_db_bytes)
json_bytes=$(ck get imagescans -o json | python3 -c 'import json, sys; print(sum(len(json.dumps(i, separators=(",", ":"))) for i in json.load(sys.stdin)["items"]))')
objects=$(ck get imagescans -o name | wc -l)

# The review body: a Pod whose image is the real, scanned one (its scan has CRITICAL findings,
# and the threshold is CRITICAL with an ignore list of none, so it is denied: a full judgement).
python3 - "$registry/bench/app:1.0" > "$work/review.json" <<'EOF'
import json, sys
print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
  "uid": "bench", "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "resource": {"group": "", "version": "v1", "resource": "pods"}, "namespace": "bench", "operation": "CREATE",
  "userInfo": {"username": "bench"},
  "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bench", "namespace": "bench"},
             "spec": {"containers": [{"name": "app", "image": sys.argv[1]}]}}}}))
EOF

serve() {  # config: starts podgate, waits for /readyz 200; sets serve_pid, ready_s
  local t; t=$(date +%s.%N)
  start podgate "$work/serve.log" "$podgate" serve --config "$1"
  serve_pid=${pids[podgate]}
  until curl -sfk -o /dev/null "https://127.0.0.1:$serve_port/readyz"; do
    kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.02
  done
  ready_s=$(python3 -c "print(f'{$(date +%s.%N) - $t:.2f}')")
}
stop_serve() { stop_process podgate; }
measure() {  # label: wrk against the running podgate; prints req/s and latencies
  # Warm the digest cache and the scan cache first.
  curl -sk -o /dev/null -X POST --data-binary @"$work/review.json" "https://127.0.0.1:$serve_port/validate"
  BODY_FILE="$work/review.json" wrk -t2 -c32 -d2s -s bench/wrk/post.lua "https://127.0.0.1:$serve_port/validate" >/dev/null
  local line
  line=$(BODY_FILE="$work/review.json" wrk -t2 -c32 -d"${seconds}s" -s bench/wrk/post.lua \
         "https://127.0.0.1:$serve_port/validate" | grep '^RESULT')
  python3 - "$1" "$line" <<'EOF'
import sys
label, line = sys.argv[1], sys.argv[2]
v = dict(kv.split("=") for kv in line.split()[1:])
rps = int(v["requests"]) / (int(v["duration_us"]) / 1e6)
print(f"{label}: {rps:,.0f} req/s, p50 {int(v['p50_us'])} us, p99 {int(v['p99_us'])} us, errors {v['errors']}")
EOF
}

serve "$work/kubernetes.yaml"
k_ready=$ready_s
sleep 1
k_rss=$(rss_mib "$serve_pid")
k_metric_bytes=$(curl -s "http://127.0.0.1:$serve_metrics/metrics" | awk '/^podgate_scan_imagescan_bytes / {print $2}')
k_cache=$(curl -s "http://127.0.0.1:$serve_metrics/metrics" | awk '/^podgate_kube_cache_bytes\{resource="imagescans"\}/ {print $2}')
k1=$(measure "kubernetes store")
stop_serve

# The same scans in SQLite, for the same review.
t2=$(date +%s.%N)
(cd "$work/reports" && ls | xargs -n 2000 "$podgate" scans import -c "$work/sqlite.yaml" > /dev/null)
t3=$(date +%s.%N)
serve "$work/sqlite.yaml"
s_ready=$ready_s
sleep 1
s_rss=$(rss_mib "$serve_pid")
s1=$(measure "sqlite store    ")
stop_serve
serve "$work/kubernetes.yaml"
k2=$(measure "kubernetes store (again)")
stop_serve

python3 - <<EOF
count, import_s, sqlite_import_s = $count, $t1 - $t0, $t3 - $t2
json_bytes, db_growth = $json_bytes, $db_after - $db_before
print(f"objects: {$objects} ImageScans")
print(f"import through the apiserver: {import_s:.1f} s ({count / import_s:,.0f} ImageScans/s); into SQLite: {sqlite_import_s:.1f} s")
print(f"ImageScans' JSON as served (with managedFields): {json_bytes / 2**20:.1f} MiB ({json_bytes / count:,.0f} bytes each); "
      f"podgate_scan_imagescan_bytes {float('${k_metric_bytes:-0}') / 2**20:.1f} MiB; etcd dbSizeInUse grew {db_growth / 2**20:.1f} MiB")
print(f"first sync (start to /readyz 200): {$k_ready} s with the kubernetes store ({$s_ready} s with sqlite)")
print(f"RSS after sync: {$k_rss} MiB (kubernetes store; records cache {float('${k_cache:-0}') / 2**20:.1f} MiB), {$s_rss} MiB (sqlite store)")
EOF
echo "$k1"
echo "$s1"
echo "$k2"
