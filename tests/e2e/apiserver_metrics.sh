# shellcheck shell=bash disable=SC2154  # sourced by run.sh, which sets here, work, pki, api_port, ...
# The dashboard's panel on the apiserver's own webhook metrics (apiserver_admission_webhook_
# rejection_count, _fail_open_count), proven against this suite's kube-apiserver: sourced by run.sh,
# which defines k, pod_yaml, run_case, start, stop_process and the stack.
#
# A real Prometheus (Debian's) scrapes the apiserver's /metrics over TLS as the admin (the cluster
# CA, the admin's client certificate: system:masters may read /metrics) and podgate's /metrics,
# both labelled cluster="e2e". Then the case causes each outcome the panel counts, twice (so each
# series exists before it grows, and rate() sees the growth):
#   - podgate denies a privileged Pod in e2e-enforce: a rejection with error_type no_error;
#   - in the namespace e2e-metrics, a copy of the chart's ValidatingWebhookConfiguration, named
#     podgate-unreachable, points at a port nobody listens on, as when podgate is down: its
#     enforce.podgate.io (failurePolicy Fail, the chart's default) refuses the Pod unjudged
#     (error_type calling_webhook_error) and its audit.podgate.io (Ignore) fails open.
# The copy selects e2e-metrics alone and has no cluster-scoped rule, so no other case meets it; it
# is deleted afterwards. tests/e2e/apiserver_metrics.py then resolves the dashboard's variables and
# evaluates the panel's queries through Prometheus' HTTP API.

am_ns=e2e-metrics
am_case="apiserver metrics: a real Prometheus scraping the apiserver; the dashboard's panel shows podgate's denials, a fail-open and a call refused unjudged"

am_setup() {
  command -v prometheus >/dev/null || { reason="prometheus is not installed (scripts/install-deps.sh)"; return 1; }
  local ports; mapfile -t ports < <(python3 "$here/e2e_tools.py" free-ports 2)
  am_prom="http://127.0.0.1:${ports[0]}"
  local closed_port=${ports[1]}  # free now, and nothing here listens on it later
  cat > "$work/prometheus.yml" <<EOF
global: {scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 2s}
scrape_configs:
  - job_name: apiserver
    scheme: https
    tls_config: {ca_file: "$pki/cluster-ca.crt", cert_file: "$pki/admin.crt", key_file: "$pki/admin.key"}
    static_configs: [{targets: ["127.0.0.1:$api_port"], labels: {cluster: e2e}}]
  - job_name: podgate
    static_configs: [{targets: ["127.0.0.1:$metrics_port"], labels: {cluster: e2e, namespace: podgate}}]
EOF
  start prometheus "$work/prometheus.log" prometheus --config.file="$work/prometheus.yml" \
    --storage.tsdb.path="$work/prometheus-tsdb" --web.listen-address="${am_prom#http://}" --log.level=warn
  python3 "$here/apiserver_metrics.py" wait "$am_prom" 60 2> "$work/prometheus-wait.err" ||
    { reason="$(cat "$work/prometheus-wait.err") $(tail -3 "$work/prometheus.log")"; return 1; }
  k create namespace "$am_ns" >/dev/null || { reason="could not create $am_ns"; return 1; }
  python3 "$here/e2e_tools.py" webhook-config "$work/chart.yaml" "https://127.0.0.1:$closed_port" \
    "$pki/webhook-ca.crt" | python3 -c '
import sys, yaml
c = yaml.safe_load(sys.stdin)
c["metadata"]["name"] = "podgate-unreachable"
policies = {h["name"]: h["failurePolicy"] for h in c["webhooks"]}
assert policies == {"enforce.podgate.io": "Fail", "audit.podgate.io": "Ignore"}, policies
for h in c["webhooks"]:
    h["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": sys.argv[1]}}
    h["rules"] = [r for r in h["rules"] if r.get("scope") != "Cluster"]
print(yaml.safe_dump(c, sort_keys=False))' "$am_ns" > "$work/webhook-unreachable.yaml" &&
    k apply -f "$work/webhook-unreachable.yaml" >/dev/null ||
    { reason="the apiserver refused the podgate-unreachable configuration"; return 1; }
  # The apiserver learns of the webhook through an informer: probe (dry runs) until it calls it.
  local probe="" i
  for i in $(seq 60); do
    probe=$(pod_yaml "probe-$i" "$am_ns" "$clean_image" | k apply --dry-run=server -f - 2>&1)
    [[ $probe == *"failed calling webhook"* ]] && return 0
    sleep 0.5
  done
  reason="the podgate-unreachable webhook was never called: $probe"; return 1
}
am_teardown() {
  k delete validatingwebhookconfiguration podgate-unreachable --ignore-not-found >/dev/null 2>&1
  stop_process prometheus
}

am_round() {  # n: one denial by podgate, one refusal unjudged and one fail-open
  out=$(k apply -f - < <(pod_yaml "metrics-priv-$1" e2e-enforce "$clean_image" true) 2>&1) &&
    { reason="a privileged Pod was admitted"; return 1; }
  [[ $out == *"podgate denied"* ]] || { reason="not podgate's denial: $out"; return 1; }
  out=$(k apply -f - < <(pod_yaml "metrics-clean-$1" "$am_ns" "$clean_image") 2>&1) &&
    { reason="admitted although enforce.podgate.io could not be called"; return 1; }
  [[ $out == *"failed calling webhook"*"enforce.podgate.io"* ]] || { reason="not refused unjudged: $out"; return 1; }
}
case_apiserver_metrics() {
  am_round 1 || return 1
  sleep 5  # two scrapes: the series exist before they grow
  am_round 2 || return 1
  sleep 7  # three scrapes: rate() over the panel's 30 s sees the growth
  local rc=0
  out=$(python3 "$here/apiserver_metrics.py" check "$am_prom" e2e 2>&1) || rc=$?
  echo "$out" > "$work/apiserver-metrics.out"  # every query and its answer (PODGATE_E2E_KEEP=1)
  if [ "$rc" != 0 ]; then
    reason="$(grep -E '^FAIL|passed' <<<"$out" | head -5 | cut -c1-600)"
    return 1
  fi
  out=$(grep -E 'the panels show|passed' <<<"$out")
}

if [ -z "${PODGATE_E2E_ONLY:-}" ] || [[ $am_case =~ $PODGATE_E2E_ONLY ]]; then
  if am_setup; then
    run_case "$am_case" case_apiserver_metrics
  else
    failed=$((failed + 1)); failures+=("apiserver metrics setup"); echo "FAIL  apiserver metrics setup: $reason"
  fi
  am_teardown
fi
