#!/usr/bin/env bash
# The continuous audit at size (issue 15): PODS running Pods over IMAGES images in a real
# kube-apiserver (etcd on loopback), judged by `podgate serve` with audit.enabled. In one run:
#   - the load: 10 namespaces, IMAGES ReplicaSets (the workloads), PODS Pods spread evenly over them
#     (2 containers each: the RS's app image and a shared sidecar), and each Pod's status as a
#     kubelet writes it (Running, containerStatuses with imageID), by bench/audit_load.py;
#   - one clean ScanVerdict per digest (IMAGES + 1), imported into ImageScans with `podgate scans import`;
#   - memory: the Pod cache (podgate_kube_cache_objects/bytes{resource="pods"}) and podgate's RSS,
#     against the same podgate with the audit off on the same cluster;
#   - the first full pass (trigger start): its duration ("audit pass done" seconds) and the time
#     until all IMAGES PolicyReports exist;
#   - a second full pass with nothing changed (SIGHUP, same file): the cost of judging every Pod
#     when no report changes;
#   - verdict to report: a malicious ScanVerdict POSTed for one app digest (PODS / IMAGES Pods of one
#     RS) until that RS's PolicyReport has a scan fail, for 5 digests.
# Every container has a running digest, so no registry is needed: registries is [] and
# podgate_registry_requests_total must stay 0.
#
# Usage: bench/audit.sh [PODS] [IMAGES]    (defaults 10000 1000)
# Env:   BUILD_DIR (default build-release; built with scripts/build.sh release podgate if missing),
#        QPS (podgate's kubernetes.qps, default 50; burst is twice it),
#        PODGATE_E2E_BINDIR (kube-apiserver, kubectl, etcd; else tests/e2e/build-tools.sh builds them)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pods=${1:-10000}
images=${2:-1000}
qps=${QPS:-50}
build_dir=${BUILD_DIR:-build-release}
[ -x "$build_dir/podgate" ] || bash scripts/build.sh release podgate
podgate=$root/$build_dir/podgate
bindir=$(bash tests/e2e/build-tools.sh | tail -1)

work=$(mktemp -d /tmp/podgate-bench-audit.XXXXXX)
. tests/e2e/cluster.sh
cleanup() {
  stop_all standby podgate kube-apiserver etcd
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 tests/e2e/e2e_tools.py free-ports 1; }
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
metric() {  # metrics-port pattern: the sum of the samples whose line starts with pattern
  curl -sS "http://127.0.0.1:$1/metrics" | awk -v p="$2" 'index($0, p) == 1 {s += $NF} END {printf "%.6g\n", s + 0}'
}
metric_re() {  # metrics-port regex: the sum of the samples whose line matches
  curl -sS "http://127.0.0.1:$1/metrics" | awk -v p="$2" '$0 ~ p {s += $NF} END {printf "%.6g\n", s + 0}'
}
etcd_db_bytes() {
  curl -sS -X POST "http://127.0.0.1:$etcd_port/v3/maintenance/status" -d '{}' |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d.get("dbSizeInUse", d["dbSize"]))'
}
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }
ck() { k --request-timeout=120s "$@"; }

echo "# bench/audit.sh $pods Pods over $images images; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $build_dir/podgate"
cluster_init "$work" "$bindir" && start_etcd && start_apiserver || { echo "the cluster did not start" >&2; exit 1; }
server="https://127.0.0.1:$api_port"
ck apply -f charts/podgate/crds/imagescans.podgate.io.yaml -f tests/e2e/fixtures/wgpolicyk8s.io_policyreports.yaml >/dev/null
ck wait --for=condition=Established --timeout=30s crd/imagescans.podgate.io crd/policyreports.wgpolicyk8s.io >/dev/null

# ---- the load ------------------------------------------------------------------------------------
db0=$(etcd_db_bytes)
python3 bench/audit_load.py load "$server" "$pki" "$pods" "$images" | tee "$work/load.out"
db_loaded=$(etcd_db_bytes)

# ---- the scans: one clean verdict per digest -------------------------------------------------------
python3 bench/audit_load.py verdicts "$work/verdicts" "$images"
cat > "$work/import.yaml" <<EOF
kubernetes: {kubeconfig: "$work/kubeconfig-admin", qps: 500, burst: 1000, timeout: 60s}
scans: {store: kubernetes}
EOF
t=$(now)
(cd "$work/verdicts" && ls | xargs -n 2000 "$podgate" scans import -c "$work/import.yaml" > "$work/import.out")
import_s=$(since "$t")
scans=$(ck get imagescans -o name | wc -l)
echo "import of $((images + 1)) ScanVerdicts: ${import_s} s ($scans ImageScans)"
db_scans=$(etcd_db_bytes)

# ---- podgate's configs: the audit on, and the same with the audit off ------------------------------
bash scripts/gen-dev-cert.sh "$work/tls" >/dev/null
openssl rand -hex 32 > "$work/scan-token"
chmod 600 "$work/scan-token"
write_config() {  # file port metrics-port audit-enabled
  cat > "$1" <<EOF
mode: enforce
rules:
  images:
    action: deny
    scan: {action: deny, severityThreshold: CRITICAL, onUnscanned: deny}
registries: []
kubernetes: {kubeconfig: "$work/kubeconfig-admin", qps: $qps, burst: $((qps * 2)), timeout: 60s}
scans: {store: kubernetes, apiTokenFile: "$work/scan-token", syncTimeout: 10m}
audit:
  enabled: $4
  interval: 168h
  reports: wgpolicyk8s.io/v1alpha2
  events: true
  podsPerSecond: 100000
  lease: {namespace: default, name: podgate-audit, duration: 15s}
server:
  listen: "127.0.0.1:$2"
  metricsListen: "127.0.0.1:$3"
  tls: {certFile: "$work/tls/tls.crt", keyFile: "$work/tls/tls.key"}
logging: {level: info}
EOF
}
serve_port=$(free_port) serve_metrics=$(free_port)
write_config "$work/audit.yaml" "$serve_port" "$serve_metrics" true
off_port=$(free_port) off_metrics=$(free_port)
write_config "$work/off.yaml" "$off_port" "$off_metrics" false

serve() {  # config log port: starts podgate, waits for /readyz 200; sets serve_pid, serve_t0, ready_s
  serve_t0=$(now)
  start podgate "$2" "$podgate" serve --config "$1"
  serve_pid=${pids[podgate]}
  until curl -sfk -o /dev/null "https://127.0.0.1:$3/readyz"; do
    kill -0 "$serve_pid" 2>/dev/null || { tail -20 "$2" >&2; exit 1; }
    sleep 0.05
  done
  ready_s=$(since "$serve_t0")
}
pass_seconds() {  # log trigger timeout: waits for that "audit pass done" line; prints its seconds
  local i
  for i in $(seq $(($3 * 10))); do
    python3 - "$1" "$2" <<'EOF' && return 0
import json, sys
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if d.get("msg") == "audit pass done" and d.get("trigger") == sys.argv[2]:
        print(f'{d["seconds"]:.2f} {d["pods"]} {d["workloads"]}')
        sys.exit(0)
sys.exit(1)
EOF
    sleep 0.1
  done
  echo "no 'audit pass done' ($2) within $3 s" >&2
  tail -20 "$1" >&2
  return 1
}

# The audit off first: what podgate costs without the Pod cache, on the same cluster.
serve "$work/off.yaml" "$work/off.log" "$off_port"
off_ready=$ready_s
sleep 3
off_rss=$(rss_mib "$serve_pid")
stop_process podgate

# ---- the audit on: the first pass --------------------------------------------------------------------
serve "$work/audit.yaml" "$work/audit.log" "$serve_port"
audit_ready=$ready_s
# /readyz does not wait for the audit's Pod cache (admission does not need it): its sync is
# podgate_kube_cache_synced{resource="pods"}.
until [ "$(metric "$serve_metrics" 'podgate_kube_cache_synced{resource="pods"}')" = 1 ]; do
  kill -0 "$serve_pid" 2>/dev/null || { tail -20 "$work/audit.log" >&2; exit 1; }
  sleep 0.05
done
synced_s=$(since "$serve_t0")
rss_synced=$(rss_mib "$serve_pid")
cache_objects=$(metric "$serve_metrics" 'podgate_kube_cache_objects{resource="pods"}')
cache_bytes=$(metric "$serve_metrics" 'podgate_kube_cache_bytes{resource="pods"}')
python3 bench/audit_load.py wait-reports "$server" "$pki" "$images" 900 >/dev/null
reports_from_start=$(since "$serve_t0")
read -r pass1_s pass1_pods pass1_workloads < <(pass_seconds "$work/audit.log" start 900)
sleep 2
rss_pass1=$(rss_mib "$serve_pid")
applies1=$(metric "$serve_metrics" 'podgate_audit_reports_total{operation="apply",result="ok"}')
rs_gets=$(metric_re "$serve_metrics" '^podgate_kube_requests_total\\{.*resource="replicasets"')
report_count=$(ck get policyreports -A --no-headers | wc -l)

# ---- the second pass: nothing changed ------------------------------------------------------------------
kill -HUP "$serve_pid"
read -r pass2_s pass2_pods _ < <(pass_seconds "$work/audit.log" rules 900)
applies2=$(metric "$serve_metrics" 'podgate_audit_reports_total{operation="apply",result="ok"}')
rss_pass2=$(rss_mib "$serve_pid")

# ---- a standby replica: the audit on, the Lease held by the first (it keeps the Pod cache only) ------
standby_port=$(free_port) standby_metrics=$(free_port)
write_config "$work/standby.yaml" "$standby_port" "$standby_metrics" true
start standby "$work/standby.log" "$podgate" serve --config "$work/standby.yaml"
until [ "$(metric "$standby_metrics" 'podgate_kube_cache_synced{resource="pods"}' 2>/dev/null)" = 1 ]; do
  kill -0 "${pids[standby]}" 2>/dev/null || { tail -20 "$work/standby.log" >&2; exit 1; }
  sleep 0.05
done
sleep 3
standby_rss=$(rss_mib "${pids[standby]}")
standby_leader=$(metric "$standby_metrics" 'podgate_audit_leader ')
stop_process standby

# ---- verdict to report, 5 digests ------------------------------------------------------------------
rs_list=$(python3 -c "n = $images; print(' '.join(str((n * k // 5 + 7 * k) % n) for k in range(5)))")
python3 bench/audit_load.py verdict-to-report "$server" "$pki" "https://127.0.0.1:$serve_port" "$work/scan-token" \
  $rs_list > "$work/v2r.out"
v2r_sum=$(metric "$serve_metrics" 'podgate_audit_verdict_to_report_seconds_sum')
v2r_count=$(metric "$serve_metrics" 'podgate_audit_verdict_to_report_seconds_count')
registry_requests=$(metric "$serve_metrics" 'podgate_registry_requests_total')
malicious=$(metric "$serve_metrics" 'podgate_audit_running_containers{scan="malicious"}')
db_end=$(etcd_db_bytes)
rss_end=$(rss_mib "$serve_pid")
grep -h '"level":"\(warn\|error\)"' "$work/audit.log" | head -5 > "$work/warnings" || true
curl -sS "http://127.0.0.1:$serve_metrics/metrics" | grep -E '^podgate_(kube_requests_total|audit_events_total|audit_reports_total)' > "$work/requests" || true

python3 - <<EOF
pods, images = $pods, $images
print()
print("## results")
print(f"podgate /readyz 200: {$audit_ready} s (audit off: {$off_ready} s); the Pod cache synced {$synced_s} s after the start")
print(f"Pod cache: {int($cache_objects)} Pods, {$cache_bytes / 2**20:.1f} MiB estimated ({$cache_bytes / max($cache_objects, 1):,.0f} bytes a Pod)")
print(f"RSS, audit off: {$off_rss} MiB; audit on: {$rss_synced} MiB when the Pod cache synced "
      f"(+{$rss_synced - $off_rss:.1f} MiB, {($rss_synced - $off_rss) * 2**20 / pods:,.0f} bytes a Pod; the first pass already running), "
      f"{$rss_pass1} MiB after the first pass "
      f"(+{$rss_pass1 - $off_rss:.1f} MiB, {($rss_pass1 - $off_rss) * 2**20 / pods:,.0f} bytes a Pod), "
      f"{$rss_pass2} MiB after the second, {$rss_end} MiB at the end")
print(f"RSS of a standby replica (audit on, not the leader: the Pod cache only): {$standby_rss} MiB "
      f"(+{$standby_rss - $off_rss:.1f} MiB over the audit off, {($standby_rss - $off_rss) * 2**20 / pods:,.0f} bytes a Pod; "
      f"leader metric {int($standby_leader)}); the leader's judgements add {$rss_pass2 - $standby_rss:.1f} MiB "
      f"({($rss_pass2 - $standby_rss) * 2**20 / pods:,.0f} bytes a Pod)")
print(f"first pass (start): {$pass1_s} s for {$pass1_pods} Pods, {$pass1_workloads} workloads; "
      f"all {images} reports exist {$reports_from_start} s after podgate's start ({$report_count} listed by kubectl); "
      f"{int($applies1)} report applies, {int($rs_gets)} ReplicaSet requests, at kubernetes.qps $qps")
print(f"second pass (rules, nothing changed): {$pass2_s} s for {$pass2_pods} Pods; {int($applies2 - $applies1)} report applies")
rows = [l.split() for l in open("$work/v2r.out")]
t = sorted(float(r[1]) for r in rows)
print(f"verdict to report, {len(t)} digests ({pods // images} Pods each), POST to a scan fail read back: "
      f"min {t[0]:.3f} s, median {t[len(t) // 2]:.3f} s, max {t[-1]:.3f} s (the POST itself: "
      + ", ".join(f"{float(r[2]):.3f}" for r in rows) + " s)")
print(f"podgate_audit_verdict_to_report_seconds: sum {$v2r_sum:.4f} s, count {int($v2r_count)} "
      f"(mean {$v2r_sum / max($v2r_count, 1) * 1000:.1f} ms)")
print(f"running containers with a malicious scan (metric): {int($malicious)}; registry requests: {int($registry_requests)}")
print(f"etcd dbSizeInUse: {$db0 / 2**20:.1f} MiB empty, {$db_loaded / 2**20:.1f} after the load, "
      f"{$db_scans / 2**20:.1f} after the scans, {$db_end / 2**20:.1f} at the end (with the reports)")
EOF
echo "podgate's requests to the apiserver (audit on, whole run):"
sed 's/^/  /' "$work/requests"
if [ -s "$work/warnings" ]; then echo "podgate warnings:"; cat "$work/warnings"; fi
[ "${registry_requests%.*}" = 0 ] || { echo "podgate asked a registry" >&2; exit 1; }
