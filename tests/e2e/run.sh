#!/usr/bin/env bash
# End-to-end suite: a real kube-apiserver (with etcd) calls a real podgate over TLS, and kubectl
# shows what a user would see. Everything runs on loopback on free ports, in a temp directory that is
# removed at the end; every process is stopped on exit, failure or interrupt.
#
#   1. builds or reuses kube-apiserver, kubectl (v1.34) and etcd (tests/e2e/build-tools.sh)
#   2. generates CAs, the apiserver's and podgate's serving certificates and client certificates
#   3. starts etcd, kube-apiserver (with an audit log), a docker-registry and podgate
#   4. registers the ValidatingWebhookConfiguration rendered from the Helm chart, with clientConfig
#      switched to https://127.0.0.1:<port>/... and the test CA as caBundle
#      (and, for the digest-pinning cases in pin_cases.sh, the chart's MutatingWebhookConfiguration)
#      (and, for rules.podSecurity in pod_security_cases.sh, a replica with its own copy of it, scoped
#      to namespaces labelled e2e.podgate.io/pss)
#      (and, for the dashboard's apiserver panel in apiserver_metrics.sh, a Prometheus scraping the
#      apiserver, and a copy of it pointing at a closed port, scoped to the namespace e2e-metrics)
#   5. waits until the webhook answers, runs the cases, and prints "N passed, N failed"
#
# Usage: tests/e2e/run.sh            (exit 0 only if every case passed)
# Env:   PODGATE_BIN   podgate binary (default build/podgate; built with scripts/build.sh if missing)
#        PODGATE_E2E_KEEP=1   keep the temp directory (logs, audit log, certificates) for debugging
#        PODGATE_E2E_ONLY=<regex>   run only the cases whose names match
#        PODGATE_E2E_VERBOSE=1      print what kubectl answered in each passing case
#        PODGATE_E2E_BINDIR=<dir>  kube-apiserver, kubectl and etcd already built there (build-tools.sh)
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/e2e"
started=$(date +%s)
log() { echo "e2e: $*" >&2; }
die() { echo "e2e: FATAL: $*" >&2; exit 1; }

# ---- tools ----------------------------------------------------------------------------------------
bindir=$(bash "$here/build-tools.sh" | tail -1) || die "could not build kube-apiserver/kubectl/etcd"
helm=$(bash "$repo/scripts/install-helm.sh" | tail -1) || die "could not build helm"
podgate=${PODGATE_BIN:-$repo/build/podgate}
if [ ! -x "$podgate" ]; then
  bash "$repo/scripts/build.sh" default >&2 || die "could not build podgate"
fi
registry_bin=$(command -v docker-registry) || die "docker-registry is not installed (scripts/install-deps.sh)"
tools_ready=$(date +%s)

work=$(mktemp -d /tmp/podgate-e2e.XXXXXX)
. "$here/cluster.sh"
cleanup() {
  local rc=$?
  stop_all podgate replica-a replica-b replica-x pss loop kube-apiserver etcd registry private-registry
  if [ "${PODGATE_E2E_KEEP:-0}" = 1 ]; then
    log "kept $work (exit $rc)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mapfile -t ports < <(python3 "$here/e2e_tools.py" free-ports 12)
podgate_port=${ports[0]} metrics_port=${ports[1]} registry_port=${ports[2]}
replica_a_port=${ports[3]} replica_a_metrics=${ports[4]} replica_b_port=${ports[5]} replica_b_metrics=${ports[6]}
private_registry="127.0.0.1:${ports[7]}"
audit_a_port=${ports[8]} audit_a_metrics=${ports[9]} audit_b_port=${ports[10]} audit_b_metrics=${ports[11]}
registry="127.0.0.1:$registry_port"

# ---- certificates -----------------------------------------------------------------------------------
cluster_init "$work" "$bindir" || die "openssl failed"
# podgate's serving certificate has a CA of its own, as in a cluster: the caBundle is only this one.
new_ca webhook-ca "podgate-e2e webhook CA"
# A second user with cluster-admin RBAC but outside system:masters, for the label guard.
new_cert developer cluster-ca "/CN=e2e-developer" "extendedKeyUsage=clientAuth"
# The replicas of the shared scan state run as this user, bound to the chart's own ClusterRole.
new_cert replica cluster-ca "/CN=e2e-podgate-replica" "extendedKeyUsage=clientAuth"
new_cert podgate webhook-ca "/CN=podgate" \
  "$(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth')"
mkdir -p "$work/podgate-tls"
cp "$pki/podgate.crt" "$work/podgate-tls/tls.crt"; cp "$pki/podgate.key" "$work/podgate-tls/tls.key"

kubeconfig_for developer; kubeconfig_for replica
k_dev() { "$bindir/kubectl" --kubeconfig "$work/kubeconfig-developer" --request-timeout=30s "$@"; }

# ---- processes ------------------------------------------------------------------------------------
start_etcd || die "etcd did not start"

# Audit podgate's decisions on pods at Metadata level: that level carries admission webhooks'
# auditAnnotations, which is what a security team reads.
cat > "$work/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    resources:
      - group: ""
        resources: ["pods", "pods/ephemeralcontainers"]
      - group: "apps"
        resources: ["deployments"]
  - level: None
EOF
apiserver_extra_args=(--audit-policy-file="$work/audit-policy.yaml" --audit-log-path="$work/audit.log"
                      --audit-log-format=json --audit-log-mode=blocking)
start_apiserver || die "kube-apiserver did not become ready"
log "kube-apiserver $("$bindir/kube-apiserver" --version | cut -d' ' -f2) ready on 127.0.0.1:$api_port"

cat > "$work/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: "$work/registry"}}
http: {addr: "$registry", secret: "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"}
EOF
start registry "$work/registry.log" "$registry_bin" serve "$work/registry.yml"
python3 "$here/e2e_tools.py" wait-http "http://$registry/v2/" 30 || die "docker-registry did not start"

# Images: clean (scanned, no findings), vulnerable (scanned, a CRITICAL CVE), unscanned.
push() { python3 "$here/e2e_tools.py" push-image "$registry" "$1" "$2" "$1:$2"; }
clean_image="$registry/e2e/app:1.0"
vulnerable_image="$registry/e2e/legacy:2.3"
unscanned_image="$registry/e2e/fresh:0.1"
missing_image="$registry/e2e/app:does-not-exist"
clean_digest=$(push e2e/app 1.0) && vulnerable_digest=$(push e2e/legacy 2.3) && push e2e/fresh 0.1 >/dev/null ||
  die "could not push the test images"
python3 "$here/e2e_tools.py" trivy-report "$clean_image" "$clean_digest" > "$work/scan-clean.json"
python3 "$here/e2e_tools.py" trivy-report "$vulnerable_image" "$vulnerable_digest" \
  CVE-2024-3094 CRITICAL xz-utils 5.6.1-1 > "$work/scan-vulnerable.json"

cat > "$work/podgate.yaml" <<EOF
# podgate as the chart runs it, plus the image rules against the harness's registry.
mode: enforce
rules:
  images:
    action: deny
    resolve: {timeout: 3s, cacheTTL: 2s}  # short: the pin cases re-push a tag (pin_cases.sh)
    scan: {action: deny, severityThreshold: HIGH, onUnscanned: deny}
    pinDigests: true  # /mutate; its webhook is registered for the namespace e2e-pin only
registries:
  - {host: "$registry", plainHTTP: true}
scans: {database: "$work/scans.db"}
server:
  listen: "127.0.0.1:$podgate_port"
  metricsListen: "127.0.0.1:$metrics_port"
  tls:
    certFile: "$work/podgate-tls/tls.crt"
    keyFile: "$work/podgate-tls/tls.key"
    reloadInterval: 1s
logging: {level: info}
EOF
"$podgate" scans import -c "$work/podgate.yaml" "$work/scan-clean.json" "$work/scan-vulnerable.json" >/dev/null ||
  die "podgate scans import failed"
start_podgate() {
  start podgate "$work/podgate.log" "$podgate" serve --config "$work/podgate.yaml"
  python3 "$here/e2e_tools.py" wait-http "https://127.0.0.1:$podgate_port/readyz" 30 "$pki/webhook-ca.crt" ||
    { tail -20 "$work/podgate.log" >&2; die "podgate did not become ready"; }
}
start_podgate

# ---- the webhook configuration, rendered from the chart --------------------------------------------
# tls.existingSecret: the harness brings its own certificate; the URL replaces the Service.
"$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
  --set tls.existingSecret=podgate-tls --set-string tls.caBundle="$(base64 -w0 "$pki/webhook-ca.crt")" \
  --set labelGuard.enabled=true > "$work/chart.yaml" || die "helm template failed"
python3 "$here/e2e_tools.py" webhook-config "$work/chart.yaml" "https://127.0.0.1:$podgate_port" \
  "$pki/webhook-ca.crt" > "$work/webhook.yaml" || die "could not extract the webhook configuration"
# With digest pinning on, the chart adds its MutatingWebhookConfiguration (pin_cases.sh registers it).
"$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
  --set tls.existingSecret=podgate-tls --set-string tls.caBundle="$(base64 -w0 "$pki/webhook-ca.crt")" \
  --set config.rules.images.action=deny --set config.rules.images.pinDigests=true > "$work/chart-pin.yaml" ||
  die "helm template with pinDigests failed"

k create namespace podgate >/dev/null
k create namespace e2e-enforce >/dev/null
k create namespace e2e-audit >/dev/null && k label namespace e2e-audit podgate.io/mode=audit >/dev/null
k apply -f "$work/webhook.yaml" >/dev/null || die "the apiserver refused the chart's webhook configuration"

# The apiserver learns of webhooks through an informer: probe until podgate's answer shows.
pod_yaml() {  # name namespace image [privileged] [hostPath]
  local name=$1 ns=$2 image=$3 privileged=${4:-false} host_path=${5:-}
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: $ns}
spec:
  containers:
    - name: app
      image: $image
      securityContext: {privileged: $privileged}
EOF
  if [ -n "$host_path" ]; then
    cat <<EOF
      volumeMounts: [{name: host, mountPath: /host}]
  volumes:
    - name: host
      hostPath: {path: "$host_path"}
EOF
  fi
}
for _ in $(seq 60); do
  out=$(pod_yaml probe e2e-enforce "$clean_image" true | k apply --dry-run=server -f - 2>&1)
  [[ $out == *"podgate denied"* ]] && break
  sleep 0.5
done
[[ $out == *"podgate denied"* ]] || die "the webhook never answered a probe: $out"
ready=$(date +%s)
log "stack ready in $((ready - tools_ready))s (tools $((tools_ready - started))s); running cases"

# ---- cases ----------------------------------------------------------------------------------------
passed=0 failed=0
declare -a failures=()
reason=""
run_case() {  # name function
  if [ -n "${PODGATE_E2E_ONLY:-}" ] && ! [[ $1 =~ $PODGATE_E2E_ONLY ]]; then return; fi
  reason="" out=""
  local t0=$SECONDS
  if "$2"; then
    passed=$((passed + 1)); echo "PASS  $1 ($((SECONDS - t0))s)"
    # What kubectl printed last, as evidence (PODGATE_E2E_VERBOSE=1).
    [ "${PODGATE_E2E_VERBOSE:-0}" != 1 ] || [ -z "$out" ] || printf '      %s\n' "$(echo "$out" | head -c 400)"
  else
    failed=$((failed + 1)); failures+=("$1"); echo "FAIL  $1 ($((SECONDS - t0))s): $reason"
  fi
}
# expect_refused OUTPUT_VAR command...: the command fails and prints podgate's message.
out=""
expect_refused() {
  local needle=$1; shift
  if out=$("$@" 2>&1); then reason="was admitted: $out"; return 1; fi
  [[ $out == *"denied the request"* && $out == *"podgate denied"* ]] || { reason="not podgate's refusal: $out"; return 1; }
  [[ $out == *"$needle"* ]] || { reason="message lacks '$needle': $out"; return 1; }
}
exists() { k get "$@" >/dev/null 2>&1; }

case_privileged_pod() {
  expect_refused 'container "app" is privileged' k apply -f - < <(pod_yaml priv e2e-enforce "$clean_image" true) &&
  { ! exists -n e2e-enforce pod/priv || { reason="pod exists after refusal"; return 1; }; }
}
case_privileged_deployment() {
  expect_refused "podgate denied Deployment e2e-enforce/priv-deploy" k apply -f - <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: priv-deploy, namespace: e2e-enforce}
spec:
  selector: {matchLabels: {app: priv}}
  template:
    metadata: {labels: {app: priv}}
    spec:
      containers: [{name: app, image: "$clean_image", securityContext: {privileged: true}}]
EOF
}
case_privileged_cronjob() {
  expect_refused "podgate denied CronJob e2e-enforce/priv-cron" k apply -f - <<EOF
apiVersion: batch/v1
kind: CronJob
metadata: {name: priv-cron, namespace: e2e-enforce}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: app, image: "$clean_image", securityContext: {privileged: true}}]
EOF
}
socket_case() {  # name path
  expect_refused "hostPath" k apply -f - < <(pod_yaml "$1" e2e-enforce "$clean_image" false "$2")
}
case_docker_sock() { socket_case sock-var-run /var/run/docker.sock; }
case_docker_sock_double_slash() { socket_case sock-double-slash //run/docker.sock; }
case_socket_parent_dir() { socket_case sock-parent /var/run; }
case_proc_magic_link() { socket_case sock-proc /proc/1/root/run/docker.sock; }
case_hostpath_pv() {
  # Cluster-scoped: it reaches podgate although no namespace selector applies to it.
  expect_refused "PersistentVolume e2e-sock" k apply -f - <<EOF || return 1
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-sock}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /var/run/docker.sock, type: Socket}
EOF
  ! exists pv/e2e-sock || { reason="PersistentVolume exists after refusal"; return 1; }
  # An ordinary local volume is created.
  out=$(k apply -f - 2>&1 <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-local}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local
  local: {path: /mnt/disks/ssd1}
  nodeAffinity:
    required:
      nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-1]}]}]
EOF
) || { reason="local PersistentVolume refused: $out"; return 1; }
}
case_windows_host_process() {
  expect_refused "is a Windows HostProcess container" k apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata: {name: hostprocess, namespace: e2e-enforce}
spec:
  nodeSelector: {kubernetes.io/os: windows}
  hostNetwork: true
  securityContext:
    windowsOptions: {hostProcess: true, runAsUserName: "NT AUTHORITY\\\\SYSTEM"}
  containers: [{name: app, image: "$clean_image"}]
EOF
}
case_clean_pod() {
  out=$(k apply -f - < <(pod_yaml clean e2e-enforce "$clean_image") 2>&1) || { reason="refused: $out"; return 1; }
  exists -n e2e-enforce pod/clean || { reason="pod not found after create"; return 1; }
}
case_dry_run_server() {
  expect_refused "is privileged" k apply --dry-run=server -f - < <(pod_yaml dry e2e-enforce "$clean_image" true) &&
  { ! exists -n e2e-enforce pod/dry || { reason="dry run created a pod"; return 1; }; }
}
case_ephemeral_container() {
  out=$(k apply -f - < <(pod_yaml debug-target e2e-enforce "$clean_image") 2>&1) || { reason="target pod refused: $out"; return 1; }
  # kubectl debug adds the container through the pods/ephemeralcontainers subresource; the
  # sysadmin profile makes it privileged. No kubelet runs, so it is not attached (-it is not given).
  expect_refused "privileged" k debug -n e2e-enforce debug-target --image="$clean_image" --profile=sysadmin --container=dbg || return 1
  local names
  names=$(k get -n e2e-enforce pod/debug-target -o jsonpath='{.spec.ephemeralContainers[*].name}')
  [ -z "$names" ] || { reason="ephemeral container was added: $names"; return 1; }
}
case_audit_namespace_warns() {
  out=$(k apply -f - < <(pod_yaml priv-audited e2e-audit "$clean_image" true) 2>&1) || { reason="refused in audit mode: $out"; return 1; }
  [[ $out == *"Warning:"*"privileged"* ]] || { reason="no podgate Warning: line: $out"; return 1; }
  exists -n e2e-audit pod/priv-audited || { reason="pod not created"; return 1; }
}
case_audit_log_annotations() {
  # The apiserver writes the event when the request completes; the log is in blocking mode.
  local found=""
  for _ in $(seq 20); do
    found=$(python3 - "$work/audit.log" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    ref = e.get("objectRef", {})
    if ref.get("name") == "priv-audited" and ref.get("namespace") == "e2e-audit" and e.get("stage") == "ResponseComplete":
        ann = e.get("annotations", {})
        if ann.get("audit.podgate.io/decision") == "would-deny" or any(k.startswith("audit.podgate.io/") for k in ann):
            print(json.dumps({k: v for k, v in ann.items() if "podgate" in k}))
            break
EOF
)
    [ -n "$found" ] && break
    sleep 0.5
  done
  [ -n "$found" ] || { reason="no audit.podgate.io/* annotation for e2e-audit/priv-audited in the audit log"; return 1; }
  [[ $found == *'violations'* && $found == *'privileged'* ]] || { reason="annotations lack the violation: $found"; return 1; }
}
case_kube_system_exempt() {
  out=$(k apply -f - < <(pod_yaml priv-system kube-system "$clean_image" true) 2>&1) || { reason="refused: $out"; return 1; }
  [[ $out != *"Warning:"* ]] || { reason="kube-system was sent to podgate: $out"; return 1; }
}
case_label_guard() {
  # The chart's ValidatingAdmissionPolicy (run by the apiserver itself) keeps podgate.io/mode to
  # system:masters here: a cluster-admin outside it cannot switch a namespace off.
  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set tls.existingSecret=podgate-tls --set-string tls.caBundle=unused --set labelGuard.enabled=true \
    --show-only templates/label-guard.yaml > "$work/label-guard.yaml" || { reason="helm template failed"; return 1; }
  k apply -f "$work/label-guard.yaml" >/dev/null || { reason="apiserver refused the label guard"; return 1; }
  k create clusterrolebinding e2e-developer-admin --clusterrole=cluster-admin --user=e2e-developer >/dev/null 2>&1 || true
  for _ in $(seq 40); do  # the policy is picked up asynchronously
    out=$(k_dev label namespace e2e-enforce podgate.io/mode=off --dry-run=server 2>&1) || break
    sleep 0.5
  done
  [[ $out == *"podgate.io/mode"* && $out == *"denied"* ]] || { reason="developer could set the label: $out"; return 1; }
  out=$(k_dev label namespace e2e-enforce team=payments 2>&1) || { reason="guard blocked an unrelated label: $out"; return 1; }
  out=$(k label namespace e2e-enforce podgate.io/mode=enforce --dry-run=server 2>&1) || { reason="system:masters was refused: $out"; return 1; }
}
case_failure_policy() {
  stop_process podgate
  expect_fail() { if out=$("$@" 2>&1); then return 1; fi; [[ $out == *"failed calling webhook"* ]]; }
  if ! expect_fail k apply --dry-run=server -f - < <(pod_yaml fp e2e-enforce "$clean_image"); then
    reason="with podgate down and failurePolicy Fail: $out"; start_podgate; return 1
  fi
  k patch validatingwebhookconfiguration podgate --type=json \
    -p '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Ignore"}]' >/dev/null
  local ok=1
  for _ in $(seq 20); do  # the informer picks up the patch
    out=$(k apply --dry-run=server -f - < <(pod_yaml fp e2e-enforce "$clean_image") 2>&1) && { ok=0; break; }
    sleep 0.5
  done
  k patch validatingwebhookconfiguration podgate --type=json \
    -p '[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"Fail"}]' >/dev/null
  start_podgate
  [ $ok = 0 ] || { reason="with failurePolicy Ignore the pod was still refused: $out"; return 1; }
}
served_serial() {
  openssl s_client -connect "127.0.0.1:$podgate_port" -CAfile "$pki/webhook-ca.crt" </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null
}
case_certificate_rotation() {
  # The apiserver keeps calling (server-side dry runs in a loop) while the certificate files are
  # replaced; podgate reloads them (reloadInterval 1s) and no call may fail.
  local before after
  before=$(served_serial)
  ( n=0; bad=0
    end=$((SECONDS + 12))
    while [ $SECONDS -lt $end ]; do
      if ! o=$(k apply --dry-run=server -f - < <(pod_yaml rot e2e-enforce "$clean_image") 2>&1); then
        bad=$((bad + 1)); echo "$o" >> "$work/rotation-failures.log"
      fi
      n=$((n + 1))
    done
    echo "$n $bad" > "$work/rotation-result" ) &
  pids[loop]=$!
  sleep 3
  new_cert podgate-rotated webhook-ca "/CN=podgate-rotated" \
    "$(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth')"
  # Write both files beside the live ones, then rename: podgate never sees a half-written pair.
  cp "$pki/podgate-rotated.key" "$work/podgate-tls/.tls.key.new"
  cp "$pki/podgate-rotated.crt" "$work/podgate-tls/.tls.crt.new"
  mv "$work/podgate-tls/.tls.key.new" "$work/podgate-tls/tls.key"
  mv "$work/podgate-tls/.tls.crt.new" "$work/podgate-tls/tls.crt"
  wait "${pids[loop]}"; unset "pids[loop]"
  after=$(served_serial)
  read -r calls bad < "$work/rotation-result"
  [ -n "$before" ] && [ "$before" != "$after" ] || { reason="served certificate did not change ($before -> $after)"; return 1; }
  [ "$after" = "$(openssl x509 -noout -serial -in "$pki/podgate-rotated.crt")" ] || { reason="serving an unexpected certificate: $after"; return 1; }
  [ "$bad" = 0 ] || { reason="$bad of $calls calls failed: $(head -3 "$work/rotation-failures.log")"; return 1; }
  [ "$calls" -ge 5 ] || { reason="only $calls calls made"; return 1; }
  out="$calls server-side dry runs through podgate while the certificate was replaced, none failed"
}
case_image_vulnerable() {
  expect_refused "CVE-2024-3094" k apply -f - < <(pod_yaml vuln e2e-enforce "$vulnerable_image")
}
case_image_unscanned() {
  expect_refused "has not been scanned" k apply -f - < <(pod_yaml unscanned e2e-enforce "$unscanned_image")
}
case_image_clean() {
  out=$(k apply -f - < <(pod_yaml scanned-clean e2e-enforce "$clean_image") 2>&1) || { reason="refused: $out"; return 1; }
}
case_image_missing() {
  expect_refused "does not exist" k apply -f - < <(pod_yaml missing e2e-enforce "$missing_image")
}
case_chart_accepted() {
  # The whole chart, as rendered with its defaults and with monitoring off, passes the apiserver's
  # validation (server-side dry run: nothing is created).
  local rendered="$work/chart-default.yaml"
  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set labelGuard.enabled=true --set networkPolicy.enabled=true > "$rendered" || { reason="helm template failed"; return 1; }
  out=$(k apply --dry-run=server -n podgate -f "$rendered" 2>&1) || { reason="$out"; return 1; }
}

case_match_conditions() {
  # webhook.matchConditions with Kubernetes' own example: the apiserver accepts the chart's webhook
  # configuration with it (and compiles the CEL), and then never sends podgate what a node identity
  # creates, while everyone else is still judged. The configuration is restored at the end.
  printf '%s\n' 'webhook:' '  matchConditions:' '    - name: exclude-kubelet-requests' \
    "      expression: '!(\"system:nodes\" in request.userInfo.groups)'" > "$work/match-conditions.yaml"
  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set tls.existingSecret=podgate-tls --set-string tls.caBundle="$(base64 -w0 "$pki/webhook-ca.crt")" \
    --set labelGuard.enabled=true -f "$work/match-conditions.yaml" > "$work/chart-mc.yaml" ||
    { reason="helm template failed"; return 1; }
  python3 "$here/e2e_tools.py" webhook-config "$work/chart-mc.yaml" "https://127.0.0.1:$podgate_port" \
    "$pki/webhook-ca.crt" > "$work/webhook-mc.yaml" || { reason="no webhook configuration"; return 1; }
  out=$(k apply -f "$work/webhook-mc.yaml" 2>&1) || { reason="the apiserver refused matchConditions: $out"; return 1; }
  # A kubelet's group, plus system:masters so RBAC lets the impersonated user create Pods.
  local as_node=(--as=e2e-kubelet --as-group=system:nodes --as-group=system:masters) node_ok=1 rc=0 skipped
  for _ in $(seq 40); do  # the apiserver's informer picks up the change
    out=$(k "${as_node[@]}" apply --dry-run=server -f - < <(pod_yaml mc-node e2e-enforce "$clean_image" true) 2>&1) &&
      { node_ok=0; break; }
    sleep 0.5
  done
  if [ $node_ok != 0 ]; then
    reason="a privileged Pod from a system:nodes identity was still sent to podgate: $out"; rc=1
  elif ! expect_refused 'container "app" is privileged' k --as=e2e-user --as-group=system:masters \
      apply --dry-run=server -f - < <(pod_yaml mc-user e2e-enforce "$clean_image" true); then
    reason="another identity was not judged: $reason"; rc=1
  else
    # The apiserver counts what the condition kept from podgate (podgate itself never sees it).
    skipped=$(k get --raw /metrics | awk '/^apiserver_admission_match_condition_exclusions_total[{]/ &&
      /name="enforce.podgate.io"/ {s += $NF} END {print s + 0}')
    [ "${skipped%.*}" -ge 1 ] ||
      { reason="apiserver_admission_match_condition_exclusions_total for enforce.podgate.io is $skipped"; rc=1; }
  fi
  # Restore the configuration without the condition: the node identity is judged again.
  k apply -f "$work/webhook.yaml" >/dev/null || { reason+="; could not restore the webhook configuration"; return 1; }
  for _ in $(seq 40); do
    if ! k "${as_node[@]}" apply --dry-run=server -f - < <(pod_yaml mc-node e2e-enforce "$clean_image" true) >/dev/null 2>&1; then
      return $rc
    fi
    sleep 0.5
  done
  reason+="; the condition stayed after the webhook configuration was restored"; return 1
}

run_case "privileged Pod is refused with podgate's message" case_privileged_pod
run_case "privileged Deployment is refused at apply" case_privileged_deployment
run_case "privileged CronJob is refused at apply" case_privileged_cronjob
run_case "hostPath /var/run/docker.sock is refused" case_docker_sock
run_case "hostPath //run/docker.sock is refused" case_docker_sock_double_slash
run_case "hostPath /var/run (parent of the socket) is refused" case_socket_parent_dir
run_case "hostPath under /proc (a magic link to the node's root) is refused" case_proc_magic_link
run_case "hostPath PersistentVolume on the Docker socket is refused; a local one is created" case_hostpath_pv
run_case "Windows HostProcess Pod is refused" case_windows_host_process
run_case "clean Pod is created" case_clean_pod
run_case "kubectl apply --dry-run=server of a privileged Pod is refused and creates nothing" case_dry_run_server
run_case "privileged ephemeral container via kubectl debug is refused" case_ephemeral_container
run_case "audit namespace: privileged Pod is created with Warning: lines" case_audit_namespace_warns
run_case "audit log holds podgate's auditAnnotations" case_audit_log_annotations
run_case "kube-system is not gated" case_kube_system_exempt
run_case "label guard: only allowed identities change podgate.io/mode" case_label_guard
run_case "image with a CRITICAL CVE is refused with its CVE" case_image_vulnerable
run_case "unscanned image is refused" case_image_unscanned
run_case "scanned clean image is created" case_image_clean
run_case "image that does not exist is refused as not found" case_image_missing
run_case "whole chart passes a server-side dry run" case_chart_accepted
run_case "matchConditions: the apiserver skips podgate for system:nodes, still calls it for others" case_match_conditions
run_case "serving certificate rotates with no failed call" case_certificate_rotation
run_case "failurePolicy: Fail refuses while podgate is down, Ignore admits" case_failure_policy

# ---- digest pinning: the chart's MutatingWebhookConfiguration calls podgate's /mutate --------------
. "$here/pin_cases.sh"

# ---- custom workloads: an Argo Rollout CRD, workloads.custom by SIGHUP, the chart's rule for it -----
. "$here/custom_workload_cases.sh"

# ---- the apiserver's own webhook metrics, scraped by a real Prometheus (the dashboard's panel) ------
# Before the shared-scans cases: their outage case restarts the apiserver, which resets its counters.
. "$here/apiserver_metrics.sh"

# ---- the shared scan state: two podgate replicas on ImageScans (scans.store: kubernetes) ----------
# Replicas A and B are not the apiserver's webhook: the cases post reviews to each directly, so they
# show what each replica would answer. They run as their own user, bound to the chart's ClusterRole.
replica_url() { echo "https://127.0.0.1:$1"; }
replica_review() {  # port image [pull-secret]
  python3 "$here/e2e_tools.py" review "$(replica_url "$1")/validate" "$pki/webhook-ca.crt" e2e-enforce "$2" ${3:+"$3"}
}
replica_metric() {  # metrics-port pattern: the sum of the matching samples
  curl -sS "http://127.0.0.1:$1/metrics" | awk -v p="$2" 'index($0, p) == 1 {s += $NF} END {print s + 0}'
}
replica_import() {  # port report-file: the HTTP status of POST /v1/scans
  curl -sS -o "$work/import.out" -w '%{http_code}' --cacert "$pki/webhook-ca.crt" \
    -H "Authorization: Bearer $(cat "$work/scan-token")" --data-binary @"$2" "$(replica_url "$1")/v1/scans"
}
write_replica_config() {  # name port metrics-port kubeconfig
  cat > "$work/$1.yaml" <<EOF
mode: enforce
rules:
  images:
    action: deny
    resolve: {timeout: 3s, pullSecrets: true, pullSecretTTL: 2s}
    scan: {action: deny, severityThreshold: HIGH, onUnscanned: deny}
registries:
  - {host: "$registry", plainHTTP: true}
  - {host: "$private_registry", plainHTTP: true}
kubernetes: {kubeconfig: "$4"}
scans:
  store: kubernetes
  apiTokenFile: "$work/scan-token"
  syncTimeout: 5s
  sources: {trivyOperator: true}
server:
  listen: "127.0.0.1:$2"
  metricsListen: "127.0.0.1:$3"
  tls: {certFile: "$work/podgate-tls/tls.crt", keyFile: "$work/podgate-tls/tls.key"}
EOF
}
start_replica() {  # name port
  start "$1" "$work/$1.log" "$podgate" serve --config "$work/$1.yaml"
  python3 "$here/e2e_tools.py" wait-http "$(replica_url "$2")/readyz" 60 "$pki/webhook-ca.crt" ||
    { tail -20 "$work/$1.log" >&2; return 1; }
}
replica_setup() {
  k apply -f "$repo/charts/podgate/crds/imagescans.podgate.io.yaml" -f "$here/fixtures/trivy-operator-crds.yaml" >/dev/null &&
  k wait --for=condition=Established --timeout=30s crd/imagescans.podgate.io \
    crd/vulnerabilityreports.aquasecurity.github.io crd/clustervulnerabilityreports.aquasecurity.github.io >/dev/null ||
    { reason="the CRDs were not established"; return 1; }
  # The chart's own RBAC for two replicas with Trivy Operator, its subject switched to the test user.
  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set replicaCount=2 --set config.scans.sources.trivyOperator=true --set rbac.pullSecrets=true \
    --show-only templates/rbac.yaml |
    python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
for d in docs:
    if d["kind"] == "ClusterRoleBinding":
        d["subjects"] = [{"kind": "User", "name": "e2e-podgate-replica", "apiGroup": "rbac.authorization.k8s.io"}]
print(yaml.safe_dump_all(docs))' > "$work/replica-rbac.yaml" && k apply -f "$work/replica-rbac.yaml" >/dev/null ||
    { reason="the chart's RBAC was not applied"; return 1; }
  openssl rand -hex 32 > "$work/scan-token"
  write_replica_config replica-a "$replica_a_port" "$replica_a_metrics" "$work/kubeconfig-replica"
  write_replica_config replica-b "$replica_b_port" "$replica_b_metrics" "$work/kubeconfig-replica"
  start_replica replica-a "$replica_a_port" && start_replica replica-b "$replica_b_port" ||
    { reason="a replica did not become ready"; return 1; }
  shared_image="$registry/e2e/shared:1.0"
  shared_digest=$(push e2e/shared 1.0) && operator_digest=$(push e2e/operator 1.0) ||
    { reason="could not push the replica images"; return 1; }
  python3 "$here/e2e_tools.py" trivy-report "$shared_image" "$shared_digest" > "$work/scan-shared.json"
  # A private registry (htpasswd): the image is pushed while it is open, then it serves the same
  # storage behind Basic auth, with the credentials only in a Secret of the Pod's namespace.
  write_private_registry_config() {
    cat > "$work/private-registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: "$work/private-registry"}}
http: {addr: "$private_registry", secret: "$(openssl rand -hex 16)"}
$1
EOF
  }
  write_private_registry_config ""
  start private-registry "$work/private-registry.log" "$registry_bin" serve "$work/private-registry.yml"
  python3 "$here/e2e_tools.py" wait-http "http://$private_registry/v2/" 30 &&
    private_digest=$(python3 "$here/e2e_tools.py" push-image "$private_registry" private/app 1.0 private-app-1.0) ||
    { reason="could not push to the private registry"; return 1; }
  stop_process private-registry
  htpasswd -Bbn e2e-puller "$(openssl rand -hex 12 | tee "$work/private-password")" > "$work/htpasswd"
  write_private_registry_config "auth: {htpasswd: {realm: podgate-e2e-private, path: \"$work/htpasswd\"}}"
  start private-registry "$work/private-registry.log" "$registry_bin" serve "$work/private-registry.yml"
  for _ in $(seq 60); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$private_registry/v2/")" = 401 ] && break
    sleep 0.5
  done
  k -n e2e-enforce create secret docker-registry private-registry --docker-server="$private_registry" \
    --docker-username=e2e-puller --docker-password="$(cat "$work/private-password")" >/dev/null ||
    { reason="could not create the pull Secret"; return 1; }
}
case_replica_import_seen_by_other() {
  out=$(replica_review "$replica_b_port" "$shared_image")
  [[ $out == denied:* ]] || { reason="B before the import: $out"; return 1; }
  local code; code=$(replica_import "$replica_a_port" "$work/scan-shared.json")
  [[ $code == 20[01] ]] || { reason="import through A: HTTP $code $(cat "$work/import.out")"; return 1; }
  code=$(replica_import "$replica_a_port" "$work/scan-vulnerable.json")
  [[ $code == 20[01] ]] || { reason="second import through A: HTTP $code $(cat "$work/import.out")"; return 1; }
  out=$(python3 "$here/e2e_tools.py" until-review "$(replica_url "$replica_b_port")/validate" "$pki/webhook-ca.crt" \
        e2e-enforce "$shared_image" allowed 10) || { reason="B never admitted it: $out"; return 1; }
  local took; took=$(echo "$out" | tail -1)
  python3 -c "import sys; sys.exit(0 if float('$took') <= 2.0 else 1)" || { reason="B admitted it after ${took}s (> 2 s)"; return 1; }
  out="B admitted the image imported through A after ${took}s; $(k get imagescans -o name | grep -c .) ImageScan object(s)"
}
case_replica_restart_ready_after_sync() {
  stop_process replica-b
  start replica-b "$work/replica-b-2.log" "$podgate" serve --config "$work/replica-b.yaml"
  local state="" i
  for i in $(seq 300); do
    state=$(python3 "$here/e2e_tools.py" ready-state "$(replica_url "$replica_b_port")/readyz" "$pki/webhook-ca.crt")
    [[ $state == 200* ]] && break
    sleep 0.1
  done
  [[ $state == 200* ]] || { reason="B never became ready again: $state"; return 1; }
  out=$(replica_review "$replica_b_port" "$shared_image")
  [ "$out" = allowed ] || { reason="B after restart, scanned clean image: $out"; return 1; }
  out=$(replica_review "$replica_b_port" "$vulnerable_image")
  [[ $out == denied:*CVE-2024-3094* ]] || { reason="B after restart, vulnerable image: $out"; return 1; }
  grep -q '"scan state synced from the cluster"' "$work/replica-b-2.log" || { reason="no sync line in B's log"; return 1; }
  # The gate itself: a replica that cannot reach the apiserver stays not ready and says why.
  sed "s#https://127.0.0.1:$api_port#https://127.0.0.1:1#" "$work/kubeconfig-replica" > "$work/kubeconfig-nowhere"
  local xports; mapfile -t xports < <(python3 "$here/e2e_tools.py" free-ports 2)
  write_replica_config replica-x "${xports[0]}" "${xports[1]}" "$work/kubeconfig-nowhere"
  start replica-x "$work/replica-x.log" "$podgate" serve --config "$work/replica-x.yaml"
  sleep 3
  state=$(python3 "$here/e2e_tools.py" ready-state "$(replica_url "${xports[0]}")/readyz" "$pki/webhook-ca.crt")
  stop_process replica-x
  [[ $state == "503 not ready: scan state not synced"* ]] || { reason="a replica without the apiserver: /readyz $state"; return 1; }
  out="B ready after its sync and judged the shared scans; a replica without the apiserver: $state"
}
case_vulnerability_report_denies() {
  local image="$registry/e2e/operator:1.0"
  out=$(replica_review "$replica_a_port" "$image")
  [[ $out == denied:* && $out != *CVE-2025-0001* ]] || { reason="before the report: $out"; return 1; }
  python3 "$here/e2e_tools.py" vulnerability-report e2e-enforce replicaset-operator-app "127.0.0.1:$registry_port" \
    e2e/operator 1.0 "$operator_digest" CVE-2025-0001 CRITICAL libexpat1 2.5.0-2 | k apply -f - >/dev/null ||
    { reason="the VulnerabilityReport was not created"; return 1; }
  python3 "$here/e2e_tools.py" vulnerability-report e2e-enforce replicaset-nodigest-app "127.0.0.1:$registry_port" \
    e2e/operator 1.0 "" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); d["report"]["artifact"].pop("digest"); print(json.dumps(d))' |
    k apply -f - >/dev/null || { reason="the report without a digest was not created"; return 1; }
  for _ in $(seq 50); do
    out=$(replica_review "$replica_b_port" "$image")
    [[ $out == *CVE-2025-0001* ]] && break
    sleep 0.2
  done
  [[ $out == denied:*CVE-2025-0001* ]] || { reason="after the report: $out"; return 1; }
  local skipped; skipped=$(replica_metric "$replica_b_metrics" 'podgate_scan_trivy_operator_reports_total{result="no_digest"}')
  [ "${skipped%.*}" -ge 1 ] || { reason="the report without a digest was not counted ($skipped)"; return 1; }
}
case_pull_secret_resolves_private_image() {
  local image="$private_registry/private/app:1.0"
  # With the Secret named: resolved (then refused as unscanned, which names the digest it resolved).
  out=$(replica_review "$replica_a_port" "$image" private-registry)
  [[ $out == denied:*"$private_digest"*"has not been scanned"* ]] || {
    reason="with the Secret: $out; $(curl -sS "http://127.0.0.1:$replica_a_metrics/metrics" |
      grep -E '^podgate_(pull_secret_reads_total|kube_requests_total\{[^}]*resource="(secrets|serviceaccounts)")' | tr '\n' ' ')"
    return 1
  }
  # Without it: not resolved, although the same digest was just resolved with it for another Pod.
  out=$(replica_review "$replica_a_port" "$image")
  [[ $out == denied:* && $out != *"$private_digest"* ]] || { reason="without the Secret: $out"; return 1; }
  # A Secret name that does not exist: not resolved either, and counted.
  out=$(replica_review "$replica_a_port" "$image" no-such-secret)
  [[ $out == denied:* && $out != *"$private_digest"* ]] || { reason="with a missing Secret: $out"; return 1; }
  local missing; missing=$(replica_metric "$replica_a_metrics" 'podgate_pull_secret_reads_total{result="not_found"}')
  [ "${missing%.*}" -ge 1 ] || { reason="the missing Secret was not counted ($missing)"; return 1; }
  if grep -q "$(cat "$work/private-password")" "$work/replica-a.log"; then reason="the password is in podgate's log"; return 1; fi
  out="resolved to $private_digest with the Pod's Secret only; without it: ${out:0:160}"
}
case_apiserver_outage() {
  stop_process kube-apiserver
  local t_end=$((SECONDS + 30)) disconnected=0 import_code
  while [ $SECONDS -lt $t_end ]; do
    out=$(replica_review "$replica_a_port" "$shared_image")
    [ "$out" = allowed ] || { reason="during the outage, scanned clean image: $out"; start_apiserver; return 1; }
    out=$(replica_review "$replica_a_port" "$vulnerable_image")
    [[ $out == denied:*CVE-2024-3094* ]] || { reason="during the outage, vulnerable image: $out"; start_apiserver; return 1; }
    [ "$(replica_metric "$replica_a_metrics" 'podgate_kube_watch_connected{resource="imagescans"}')" = 0 ] && disconnected=1
    sleep 2
  done
  # A newer scan (the report's time is now), so the import must reach the apiserver: refused, not lost.
  python3 "$here/e2e_tools.py" trivy-report "$shared_image" "$shared_digest" > "$work/scan-shared-2.json"
  import_code=$(replica_import "$replica_a_port" "$work/scan-shared-2.json")
  start_apiserver
  [ "$disconnected" = 1 ] || { reason="podgate_kube_watch_connected never said 0"; return 1; }
  [ "$import_code" = 503 ] || { reason="an import during the outage answered HTTP $import_code, not 503"; return 1; }
  grep -q 'judging from what is cached' "$work/replica-a.log" || { reason="no log line about the outage"; return 1; }
  local i
  for i in $(seq 90); do
    [ "$(replica_metric "$replica_a_metrics" 'podgate_kube_watch_connected{resource="imagescans"}')" = 1 ] && break
    sleep 1
  done
  [ "$(replica_metric "$replica_a_metrics" 'podgate_kube_watch_connected{resource="imagescans"}')" = 1 ] ||
    { reason="A did not watch again within 90 s of the apiserver's return"; return 1; }
  out="judged from the cache for 30 s; an import then answered 503; watching again ${i}s after the restart"
}
if [ -z "${PODGATE_E2E_ONLY:-}" ] || [[ "shared scans, pull secrets" =~ $PODGATE_E2E_ONLY ]]; then
  if replica_setup; then
    run_case "shared scans: an import through replica A lets replica B admit within 2 s" case_replica_import_seen_by_other
    run_case "shared scans: a restarted replica is ready only after its sync, and judges the scans" case_replica_restart_ready_after_sync
    run_case "shared scans: a Trivy Operator VulnerabilityReport with a CRITICAL finding denies" case_vulnerability_report_denies
    run_case "pull secrets: a private image resolves with the Pod's own Secret, and not without it" case_pull_secret_resolves_private_image
    run_case "shared scans: the apiserver stopped for 30 s, reviews are judged from the cache" case_apiserver_outage
  else
    failed=$((failed + 1)); failures+=("shared scans setup"); echo "FAIL  shared scans setup: $reason"
  fi
fi

# ---- Pod Security Standards: a replica with rules.podSecurity, scoped to its own namespaces ---------
. "$here/pod_security_cases.sh"

# ---- the continuous audit: two replicas judge what runs (audit.enabled) ------------------------------
# No kubelet runs here: the cases write the status a kubelet would (containerStatuses with imageID)
# through the status subresource, and create the ReplicaSet a Deployment controller would.
write_audit_config() {  # name port metrics-port
  cat > "$work/$1.yaml" <<EOF
mode: enforce
rules:
  images:
    action: deny
    resolve: {timeout: 3s}
    scan: {action: deny, severityThreshold: HIGH, onUnscanned: deny}
registries:
  - {host: "$registry", plainHTTP: true}
kubernetes: {kubeconfig: "$work/kubeconfig-replica"}
scans: {store: kubernetes, apiTokenFile: "$work/scan-token", syncTimeout: 5s}
audit:
  enabled: true
  interval: 1m
  lease: {namespace: podgate, name: podgate-audit, duration: 5s}
server:
  listen: "127.0.0.1:$2"
  metricsListen: "127.0.0.1:$3"
  tls: {certFile: "$work/podgate-tls/tls.crt", keyFile: "$work/podgate-tls/tls.key"}
EOF
}
audit_leader() {  # prints the name of the replica that leads (audit-a, audit-b), or nothing
  [ "$(replica_metric "$audit_a_metrics" 'podgate_audit_leader ')" = 1 ] && { echo audit-a; return; }
  [ "$(replica_metric "$audit_b_metrics" 'podgate_audit_leader ')" = 1 ] && echo audit-b
}
audit_metrics_of() { [ "$1" = audit-a ] && echo "$audit_a_metrics" || echo "$audit_b_metrics"; }
audit_port_of() { [ "$1" = audit-a ] && echo "$audit_a_port" || echo "$audit_b_port"; }
kubelet_status() {  # namespace pod container image-id: what a kubelet would write once the container runs
  k -n "$1" patch pod "$2" --subresource=status --type=merge -p "{\"status\":{\"phase\":\"Running\",
    \"containerStatuses\":[{\"name\":\"$3\",\"image\":\"${4%@*}\",\"imageID\":\"$4\",\"ready\":true,
    \"restartCount\":0,\"started\":true,\"state\":{\"running\":{\"startedAt\":\"2026-12-07T00:00:00Z\"}}}]}}" >/dev/null
}
until_report() {  # seconds namespace report-name rule result: poll the PolicyReport; prints the seconds it took
  local t0=$SECONDS i
  for i in $(seq $(($1 * 10))); do
    k -n "$2" get policyreports.wgpolicyk8s.io "$3" -o json > "$work/report.json" 2>/dev/null &&
      python3 "$here/e2e_tools.py" policy-report "$work/report.json" "$4" "$5" > "$work/report.out" &&
      { echo $((SECONDS - t0)); return 0; }
    sleep 0.1
  done
  return 1
}
audit_setup() {
  k apply -f "$here/fixtures/wgpolicyk8s.io_policyreports.yaml" >/dev/null &&
    k wait --for=condition=Established --timeout=30s crd/policyreports.wgpolicyk8s.io >/dev/null ||
    { reason="the PolicyReport CRD was not established"; return 1; }
  # The chart's RBAC for the audit (ClusterRole and the Lease Role), bound to the replicas' user.
  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set replicaCount=2 --show-only templates/rbac.yaml |
    python3 -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
for d in docs:
    if d["kind"] in ("ClusterRoleBinding", "RoleBinding"):
        d["subjects"] = [{"kind": "User", "name": "e2e-podgate-replica", "apiGroup": "rbac.authorization.k8s.io"}]
    d["metadata"]["name"] = d["metadata"]["name"] + "-audit"
    if "roleRef" in d:
        d["roleRef"]["name"] = d["roleRef"]["name"] + "-audit"
print(yaml.safe_dump_all(docs))' > "$work/audit-rbac.yaml" && k apply -f "$work/audit-rbac.yaml" >/dev/null ||
    { reason="the chart's audit RBAC was not applied"; return 1; }
  running_image="$registry/e2e/running:1.0"
  drift_image="$registry/e2e/drift:1.0"
  running_digest=$(push e2e/running 1.0) && drift_digest=$(push e2e/drift 1.0) && moved_digest=$(push e2e/drift 1.1) ||
    { reason="could not push the running images"; return 1; }
  python3 "$here/e2e_tools.py" trivy-report "$running_image" "$running_digest" > "$work/scan-running.json"
  python3 "$here/e2e_tools.py" trivy-report "$drift_image" "$drift_digest" > "$work/scan-drift.json"
  "$podgate" scans import -c "$work/podgate.yaml" "$work/scan-running.json" "$work/scan-drift.json" >/dev/null ||
    { reason="could not import the running images' scans into the webhook"; return 1; }
  write_audit_config audit-a "$audit_a_port" "$audit_a_metrics"
  write_audit_config audit-b "$audit_b_port" "$audit_b_metrics"
  start_replica audit-a "$audit_a_port" && start_replica audit-b "$audit_b_port" ||
    { reason="an audit replica did not become ready"; return 1; }
  local code report
  for report in scan-running scan-drift; do
    code=$(replica_import "$audit_a_port" "$work/$report.json")
    [[ $code == 20[01] ]] || { reason="importing $report: HTTP $code"; return 1; }
  done
  # A Deployment as a user applies it (admitted by the webhook), the ReplicaSet its controller would
  # create, and that ReplicaSet's Pod, running the scanned image.
  k create namespace e2e-running >/dev/null
  k -n e2e-running create deployment web --image="$running_image" >/dev/null ||
    { reason="the webhook refused the Deployment of a scanned image"; return 1; }
  deploy_uid=$(k -n e2e-running get deployment web -o jsonpath='{.metadata.uid}')
  k -n e2e-running apply -f - >/dev/null <<EOF || { reason="could not create the ReplicaSet and Pod"; return 1; }
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f7
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: "$deploy_uid", controller: true}]
spec:
  replicas: 1
  selector: {matchLabels: {app: web, pod-template-hash: 5d8f7}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 5d8f7}}
    spec: {containers: [{name: running, image: "$running_image"}]}
EOF
  rs_uid=$(k -n e2e-running get replicaset web-5d8f7 -o jsonpath='{.metadata.uid}')
  k -n e2e-running apply -f - >/dev/null <<EOF || { reason="could not create the Pod"; return 1; }
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f7-x2k4q
  labels: {app: web, pod-template-hash: 5d8f7}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f7, uid: "$rs_uid", controller: true}]
spec: {containers: [{name: running, image: "$running_image"}]}
EOF
  kubelet_status e2e-running web-5d8f7-x2k4q running "$registry/e2e/running@$running_digest" ||
    { reason="could not write the Pod's status"; return 1; }
  web_report="podgate-$deploy_uid"
  until_report 60 e2e-running "$web_report" scan pass >/dev/null ||
    { reason="no PolicyReport with a scan pass for the Deployment within 60 s: $(cat "$work/report.out" 2>/dev/null)"; return 1; }
}
case_audit_malicious_reported() {
  local leader; leader=$(audit_leader)
  [ -n "$leader" ] || { reason="no replica leads"; return 1; }
  python3 "$here/e2e_tools.py" scan-verdict "$running_digest" malicious "$running_image" > "$work/verdict-malicious.json"
  local code; code=$(replica_import "$audit_b_port" "$work/verdict-malicious.json")
  [[ $code == 20[01] ]] || { reason="import of the malicious verdict: HTTP $code"; return 1; }
  local took; took=$(until_report 5 e2e-running "$web_report" scan fail) ||
    { reason="no scan fail in the Deployment's report within 5 s: $(cat "$work/report.out" 2>/dev/null)"; return 1; }
  k -n e2e-running get events.events.k8s.io -o json | python3 -c '
import json, sys
items = json.load(sys.stdin)["items"]
ok = [e for e in items if e.get("reason") == "MaliciousImageRunning" and e["regarding"]["kind"] == "Deployment"
      and e["regarding"]["name"] == "web" and e.get("reportingController") == "podgate.io/audit"]
sys.exit(0 if ok else 1)' || { reason="no MaliciousImageRunning Event on the Deployment"; return 1; }
  # The gauges are set just after the report is written.
  local n i
  for i in $(seq 50); do
    n=$(replica_metric "$(audit_metrics_of "$leader")" 'podgate_audit_running_containers{scan="malicious"}')
    [ "$n" -ge 1 ] && break
    sleep 0.1
  done
  [ "$n" -ge 1 ] || { reason="podgate_audit_running_containers{scan=\"malicious\"} is $n"; return 1; }
  out="reported ${took}s after the import (leader $leader); Event MaliciousImageRunning on deployment/web; $n malicious container(s) in the metric"
}
case_audit_drift_reported() {
  k -n e2e-running run drift --image="$drift_image" --restart=Never >/dev/null || { reason="the Pod was refused"; return 1; }
  k -n e2e-running get pod drift -o json > "$work/drift-pod.json"
  # Both replicas judge its admission (the apiserver calls one webhook; the test calls both, so
  # whichever leads remembers the digest it admitted).
  for port in "$audit_a_port" "$audit_b_port"; do
    out=$(python3 "$here/e2e_tools.py" review-object "$(replica_url "$port")/validate" "$pki/webhook-ca.crt" "$work/drift-pod.json")
    [ "$out" = allowed ] || { reason="the audit replica did not admit the Pod: $out"; return 1; }
  done
  # The tag moved between admission and pull: the kubelet runs another digest.
  kubelet_status e2e-running drift drift "$registry/e2e/drift@$moved_digest" || { reason="status"; return 1; }
  local uid took; uid=$(k -n e2e-running get pod drift -o jsonpath='{.metadata.uid}')
  took=$(until_report 10 e2e-running "podgate-$uid" imageDrift fail) ||
    { reason="no imageDrift fail in the Pod's report within 10 s: $(cat "$work/report.out" 2>/dev/null)"; return 1; }
  grep -q "$moved_digest" "$work/report.out" || { reason="the finding does not name the running digest: $(cat "$work/report.out")"; return 1; }
  out="reported in ${took}s: $(tail -1 "$work/report.out" | cut -c1-160)"
}
case_audit_cli_lists_findings() {
  local rc=0
  "$podgate" audit --config "$work/audit-a.yaml" --kubeconfig "$work/kubeconfig-replica" -n e2e-running -o json \
    > "$work/audit-cli.json" 2> "$work/audit-cli.err" || rc=$?
  [ "$rc" = 1 ] || { reason="exit $rc, not 1: $(cat "$work/audit-cli.err")"; return 1; }
  python3 - "$work/audit-cli.json" <<'PY' || { reason="the CLI's findings differ: $(head -c 400 "$work/audit-cli.json")"; return 1; }
import json, sys
doc = json.load(open(sys.argv[1]))
web = [i for i in doc["items"] if i["workload"]["kind"] == "Deployment" and i["workload"]["name"] == "web"]
assert web and web[0]["verdict"] == "fail", web
assert any(r["rule"] == "scan" and r["result"] == "fail" and r["properties"].get("scan") == "malicious" for r in web[0]["results"])
PY
  "$podgate" audit --config "$work/audit-a.yaml" --kubeconfig "$work/kubeconfig-replica" -n e2e-running \
    > "$work/audit-cli.txt" 2> "$work/audit-cli.err"
  grep -q '^e2e-running/Deployment/web: fail \[scan\]' "$work/audit-cli.txt" || { reason="text output: $(head -3 "$work/audit-cli.txt")"; return 1; }
  out="exit 1; $(grep -c ': fail ' "$work/audit-cli.txt") failing finding(s); $(cat "$work/audit-cli.err")"
}
case_audit_clean_clears() {
  sleep 1.1  # a verdict is newer than the malicious one only by its time, which has whole seconds
  python3 "$here/e2e_tools.py" scan-verdict "$running_digest" clean "$running_image" > "$work/verdict-clean.json"
  local code; code=$(replica_import "$audit_a_port" "$work/verdict-clean.json")
  [[ $code == 20[01] ]] || { reason="import of the clean verdict: HTTP $code"; return 1; }
  local took; took=$(until_report 5 e2e-running "$web_report" scan none) ||
    { reason="the scan fail was still reported 5 s after the clean verdict"; return 1; }
  until_report 1 e2e-running "$web_report" scan pass >/dev/null || { reason="no scan pass after the clean verdict"; return 1; }
  out="cleared in ${took}s"
}
case_audit_scanner_scans_what_runs() {
  # A Pod in the audit-mode namespace (admitted with a warning) runs an image nobody scanned.
  local digest; digest=$(push e2e/unscanned-run 1.0) || { reason="push"; return 1; }
  k -n e2e-audit run unscanned-run --image="$registry/e2e/unscanned-run:1.0" --restart=Never >/dev/null 2>&1 ||
    { reason="the Pod was refused"; return 1; }
  kubelet_status e2e-audit unscanned-run unscanned-run "$registry/e2e/unscanned-run@$digest" || { reason="status"; return 1; }
  local i
  for i in $(seq 50); do
    curl -sS --cacert "$pki/webhook-ca.crt" -H "Authorization: Bearer $(cat "$work/scan-token")" \
      "$(replica_url "$audit_b_port")/v1/scans/wanted" | grep -q "$digest" && break
    sleep 0.1
  done
  PODGATE_URL="$(replica_url "$audit_b_port")" PODGATE_CA_FILE="$pki/webhook-ca.crt" PODGATE_TOKEN_FILE="$work/scan-token" \
    bash "$here/scanner_cronjob.sh" > "$work/scanner.out" 2>&1 || { reason="$(grep -E 'FAIL|passed' "$work/scanner.out" | head -5)"; return 1; }
  curl -sS --cacert "$pki/webhook-ca.crt" -H "Authorization: Bearer $(cat "$work/scan-token")" \
    "$(replica_url "$audit_b_port")/v1/scans/wanted" | grep -q "$digest" && { reason="$digest is still wanted after the scan"; return 1; }
  out="$(tail -1 "$work/scanner.out"); $digest no longer wanted"
}
case_audit_one_writer_and_takeover() {
  local leader other; leader=$(audit_leader)
  [ -n "$leader" ] || { reason="no replica leads"; return 1; }
  other=$([ "$leader" = audit-a ] && echo audit-b || echo audit-a)
  [ "$(replica_metric "$(audit_metrics_of "$other")" 'podgate_audit_leader ')" = 0 ] || { reason="both lead"; return 1; }
  local writes; writes=$(replica_metric "$(audit_metrics_of "$other")" 'podgate_audit_reports_total{operation="apply"')
  [ "$writes" = 0 ] || { reason="$other is not the leader but applied $writes report(s)"; return 1; }
  local holder; holder=$(k -n podgate get lease podgate-audit -o jsonpath='{.spec.holderIdentity}')
  [ -n "$holder" ] || { reason="the Lease has no holder"; return 1; }
  # Killed, not stopped: no chance to hand the Lease back.
  kill -KILL "${pids[$leader]}" 2>/dev/null
  local t0=$SECONDS i
  for i in $(seq 200); do
    [ "$(replica_metric "$(audit_metrics_of "$other")" 'podgate_audit_leader ')" = 1 ] && break
    sleep 0.1
  done
  local took=$((SECONDS - t0))
  [ "$(replica_metric "$(audit_metrics_of "$other")" 'podgate_audit_leader ')" = 1 ] ||
    { reason="$other did not take over within 20 s"; return 1; }
  [ "$took" -le 9 ] || { reason="$other took over after ${took}s, the lease is 5s"; return 1; }
  out="$leader ($holder) killed; $other leads after ${took}s (lease 5s)"
}
if [ -z "${PODGATE_E2E_ONLY:-}" ] || [[ "audit: the continuous audit" =~ $PODGATE_E2E_ONLY ]]; then
  # The audit replicas use the shared scans' user, RBAC and token: set up here when those cases did not run.
  if { [ -f "$work/scan-token" ] || replica_setup; } && audit_setup; then
    run_case "audit: a malicious verdict on a running image is reported within 5 s (report, Event, metric)" case_audit_malicious_reported
    run_case "audit: a running digest other than the admitted one is reported as drift" case_audit_drift_reported
    run_case "audit: podgate audit lists the same findings and exits 1" case_audit_cli_lists_findings
    run_case "audit: a verdict back to clean clears the result" case_audit_clean_clears
    run_case "audit: the scanner CronJob's script scans what runs unscanned (a stand-in trivy)" case_audit_scanner_scans_what_runs
    run_case "audit: one replica writes; killed, the other takes over within the lease" case_audit_one_writer_and_takeover
  else
    failed=$((failed + 1)); failures+=("audit setup"); echo "FAIL  audit setup: $reason"
  fi
fi

echo "e2e: $passed passed, $failed failed (tools $((tools_ready - started))s, stack $((ready - tools_ready))s, cases $(( $(date +%s) - ready ))s)"
if [ "$failed" -ne 0 ]; then
  log "failed: ${failures[*]}"
  log "podgate log tail:"; tail -5 "$work/podgate.log" >&2
  exit 1
fi
