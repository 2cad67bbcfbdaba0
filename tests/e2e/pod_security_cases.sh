# shellcheck shell=bash disable=SC2154  # sourced by run.sh, which sets here, work, pki, podgate, ...
# rules.podSecurity through the apiserver: sourced by run.sh, which defines k, run_case,
# expect_refused, exists, start_replica and the stack.
#
# The main podgate keeps its config (no podSecurity), so what the other cases see is unchanged. A
# replica "pss" runs with `rules.podSecurity: {level: baseline, namespaceLabels: true}` and the
# cluster client (its own user, bound to the ClusterRole the chart renders with namespaceLabels on).
# It is registered with the chart's ValidatingWebhookConfiguration (enforce and audit webhooks),
# renamed podgate-pss, its namespaceSelector narrowed to namespaces labelled e2e.podgate.io/pss and
# the cluster-scoped PersistentVolume rule dropped: only the namespaces below reach it. The main
# webhook judges those namespaces too (images: only $clean_image is used, which it admits).
#
#   e2e-pss          no PSA label: judged at baseline, /validate
#   e2e-pss-audit    podgate.io/mode=audit: the /audit route, violations come back as Warning: lines
#   e2e-pss-labels   pod-security.kubernetes.io/enforce=restricted: judged at restricted
#
# The apiserver's own PodSecurity plugin is on, and runs before the webhooks: in e2e-pss-labels it
# refuses a restricted-breaking Pod itself, so podgate never sees it. Its Deployment is only warned
# about by PSA, which is where podgate's refusal is the one that counts; the label cases use it.

pss_ns=e2e-pss pss_audit_ns=e2e-pss-audit pss_labels_ns=e2e-pss-labels

pss_deployment() {  # name namespace [extra pod-spec lines...]: a Deployment of $clean_image
  local name=$1 ns=$2; shift 2
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name, namespace: $ns}
spec:
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      containers: [{name: app, image: "$clean_image"}]
EOF
  local line
  for line in "$@"; do echo "      $line"; done
}
pss_pod() {  # name namespace [container securityContext]: a Pod of $clean_image
  local sc=${3:-"{}"}
  cat <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $2}
spec:
  containers: [{name: app, image: "$clean_image", securityContext: $sc}]
EOF
}

pss_setup() {
  mapfile -t pss_ports < <(python3 "$here/e2e_tools.py" free-ports 2)
  pss_port=${pss_ports[0]} pss_metrics=${pss_ports[1]}
  # Its own user, bound to the chart's ClusterRole as rendered with namespaceLabels on (namespaces
  # get, list, watch among the rest): nothing the other replicas' user may do changes.
  new_cert pss cluster-ca "/CN=e2e-podgate-pss" "extendedKeyUsage=clientAuth" && kubeconfig_for pss ||
    { reason="could not make the pss user's certificate"; return 1; }
  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set tls.existingSecret=podgate-tls --set-string tls.caBundle="$(base64 -w0 "$pki/webhook-ca.crt")" \
    --set config.rules.podSecurity.level=baseline --set config.rules.podSecurity.namespaceLabels=true \
    > "$work/chart-pss.yaml" || { reason="helm template with podSecurity failed"; return 1; }
  python3 - "$work/chart-pss.yaml" > "$work/pss-rbac.yaml" <<'PY' || { reason="no ClusterRole in the chart"; return 1; }
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
role = [d for d in docs if d["kind"] == "ClusterRole"][0]
assert any("namespaces" in r.get("resources", []) and "watch" in r.get("verbs", []) for r in role["rules"]), role
for d in docs:
    d["metadata"]["name"] += "-pss"
    if d["kind"] == "ClusterRoleBinding":
        d["roleRef"]["name"] += "-pss"
        d["subjects"] = [{"kind": "User", "name": "e2e-podgate-pss", "apiGroup": "rbac.authorization.k8s.io"}]
print(yaml.safe_dump_all(docs))
PY
  k apply -f "$work/pss-rbac.yaml" >/dev/null || { reason="the chart's RBAC (-pss) was not applied"; return 1; }
  k create namespace "$pss_ns" >/dev/null && k label namespace "$pss_ns" e2e.podgate.io/pss=on >/dev/null &&
  k create namespace "$pss_audit_ns" >/dev/null &&
    k label namespace "$pss_audit_ns" e2e.podgate.io/pss=on podgate.io/mode=audit >/dev/null &&
  k create namespace "$pss_labels_ns" >/dev/null &&
    k label namespace "$pss_labels_ns" e2e.podgate.io/pss=on pod-security.kubernetes.io/enforce=restricted >/dev/null ||
    { reason="could not create the namespaces"; return 1; }
  cat > "$work/pss.yaml" <<EOF
mode: enforce
rules:
  podSecurity: {level: baseline, namespaceLabels: true}
kubernetes: {kubeconfig: "$work/kubeconfig-pss"}
server:
  listen: "127.0.0.1:$pss_port"
  metricsListen: "127.0.0.1:$pss_metrics"
  tls: {certFile: "$work/podgate-tls/tls.crt", keyFile: "$work/podgate-tls/tls.key"}
EOF
  start_replica pss "$pss_port" || { reason="the pss replica did not become ready: $(tail -3 "$work/pss.log")"; return 1; }
  python3 "$here/e2e_tools.py" webhook-config "$work/chart-pss.yaml" "https://127.0.0.1:$pss_port" \
    "$pki/webhook-ca.crt" | python3 -c '
import sys, yaml
c = yaml.safe_load(sys.stdin)
c["metadata"]["name"] = "podgate-pss"
for h in c["webhooks"]:
    h["namespaceSelector"]["matchExpressions"].append({"key": "e2e.podgate.io/pss", "operator": "Exists"})
    h["rules"] = [r for r in h["rules"] if r.get("scope") != "Cluster"]
print(yaml.safe_dump(c, sort_keys=False))' > "$work/webhook-pss.yaml" && k apply -f "$work/webhook-pss.yaml" >/dev/null ||
    { reason="the apiserver refused the pss webhook configuration"; return 1; }
  # The apiserver learns of the webhook through an informer: probe until the replica answers.
  local probe=""
  for _ in $(seq 60); do
    probe=$(pss_deployment probe "$pss_ns" "hostPID: true" | k apply --dry-run=server -f - 2>&1)
    [[ $probe == *"podgate denied"*"hostNamespaces"* ]] && return 0
    sleep 0.5
  done
  reason="the pss webhook never answered a probe: $probe"; return 1
}
pss_teardown() {
  k delete validatingwebhookconfiguration podgate-pss >/dev/null
  stop_process pss
}

case_pss_hostpid_deployment() {
  expect_refused "hostNamespaces" k apply -f - < <(pss_deployment host-pid "$pss_ns" "hostPID: true") || return 1
  [[ $out == *"spec.template.spec.hostPID"* ]] || { reason="the message lacks the field path: $out"; return 1; }
  ! exists -n "$pss_ns" deployment/host-pid || { reason="the Deployment exists after the refusal"; return 1; }
}
case_pss_sys_admin_pod() {
  expect_refused "capabilities_baseline" k apply -f - < <(pss_pod sys-admin "$pss_ns" '{capabilities: {add: [SYS_ADMIN]}}') ||
    return 1
  ! exists -n "$pss_ns" pod/sys-admin || { reason="the Pod exists after the refusal"; return 1; }
}
case_pss_clean_pod() {
  out=$(k apply -f - < <(pss_pod baseline-clean "$pss_ns") 2>&1) || { reason="refused: $out"; return 1; }
  exists -n "$pss_ns" pod/baseline-clean || { reason="the Pod was not created"; return 1; }
  k -n "$pss_ns" delete pod baseline-clean --wait=false >/dev/null
}
case_pss_audit_warns() {
  out=$(k apply -f - 2>&1 <<EOF
apiVersion: v1
kind: Pod
metadata: {name: host-pid, namespace: $pss_audit_ns}
spec:
  hostPID: true
  containers: [{name: app, image: "$clean_image"}]
EOF
) || { reason="refused in audit mode: $out"; return 1; }
  [[ $out == *"Warning:"*"hostNamespaces"* ]] || { reason="no Warning: line naming hostNamespaces: $out"; return 1; }
  exists -n "$pss_audit_ns" pod/host-pid || { reason="the Pod was not created"; return 1; }
  k -n "$pss_audit_ns" delete pod host-pid --wait=false >/dev/null
}
case_pss_namespace_labels() {
  # Restricted by the label: no runAsNonRoot (among others) is refused by podgate; PSA only warns.
  expect_refused "runAsNonRoot" k apply -f - < <(pss_deployment non-root "$pss_labels_ns") || return 1
  # PSA's own warning names runAsNonRoot too: the needle must be in podgate's message.
  local denial=${out#*"podgate denied Deployment $pss_labels_ns/non-root"}
  [ "$denial" != "$out" ] || { reason="not podgate's refusal of the Deployment: $out"; return 1; }
  [[ $denial == *"runAsNonRoot"* ]] || { reason="podgate's message lacks runAsNonRoot: $out"; return 1; }
  ! exists -n "$pss_labels_ns" deployment/non-root || { reason="the Deployment exists after the refusal"; return 1; }
  # Its Pod: the apiserver's PSA refuses it before the webhooks, so podgate is asked directly.
  local pod_out
  pod_out=$(pss_pod non-root "$pss_labels_ns" | k apply -f - 2>&1) && { reason="PSA admitted the Pod: $pod_out"; return 1; }
  [[ $pod_out == *"violates PodSecurity"* ]] || { reason="the Pod was not refused by PSA: $pod_out"; return 1; }
  pss_pod non-root "$pss_labels_ns" | k create --dry-run=client -o json -f - > "$work/pss-non-root.json" &&
    pod_out=$(python3 "$here/e2e_tools.py" review-object "https://127.0.0.1:$pss_port/validate" "$pki/webhook-ca.crt"       "$work/pss-non-root.json") || { reason="could not review the Pod with the replica: $pod_out"; return 1; }
  [[ $pod_out == "denied: "*runAsNonRoot* ]] || { reason="podgate did not deny the Pod naming runAsNonRoot: $pod_out"; return 1; }
  # The same Deployment, and a Pod, where no label raises the level: baseline admits them.
  local admitted
  admitted=$(k apply -f - < <(pss_deployment non-root "$pss_ns") 2>&1) || { reason="refused at baseline: $admitted"; return 1; }
  admitted=$(k apply -f - < <(pss_pod non-root "$pss_ns") 2>&1) || { reason="Pod refused at baseline: $admitted"; return 1; }
  k -n "$pss_ns" delete deployment/non-root pod/non-root --wait=false >/dev/null
  # Relabelled to baseline: the watch brings it to the cache, and the Deployment is admitted.
  k label --overwrite namespace "$pss_labels_ns" pod-security.kubernetes.io/enforce=baseline >/dev/null ||
    { reason="could not relabel"; return 1; }
  local t0=$SECONDS ok=""
  for _ in $(seq 50); do
    admitted=$(k apply --dry-run=server -f - < <(pss_deployment non-root "$pss_labels_ns") 2>&1) && { ok=1; break; }
    sleep 0.2
  done
  k label --overwrite namespace "$pss_labels_ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
  [ -n "$ok" ] || { reason="still refused 10 s after the relabel to baseline: $admitted"; return 1; }
  out="refused at restricted (podgate: $(echo "$denial" | grep -o '[^.;]*runAsNonRoot[^.;]*' | head -1 | cut -c1-160)); admitted at baseline; relabel seen in $((SECONDS - t0))s"
}

pss_cases=(
  "pod security: a Deployment with hostPID is refused at apply (hostNamespaces, spec.template.spec.hostPID)" case_pss_hostpid_deployment
  "pod security: a Pod adding SYS_ADMIN is refused (capabilities_baseline)" case_pss_sys_admin_pod
  "pod security: a baseline-clean Pod is created" case_pss_clean_pod
  "pod security: audit namespace, a hostPID Pod is created with a Warning: naming hostNamespaces" case_pss_audit_warns
  "pod security: enforce=restricted label refuses no runAsNonRoot (Deployment; Pod at /validate); unlabelled admits; relabel seen" case_pss_namespace_labels
)
pss_wanted=""  # the replica starts only when PODGATE_E2E_ONLY selects one of these cases
for ((pss_i = 0; pss_i < ${#pss_cases[@]}; pss_i += 2)); do
  if [ -z "${PODGATE_E2E_ONLY:-}" ] || [[ ${pss_cases[pss_i]} =~ $PODGATE_E2E_ONLY ]]; then pss_wanted=1; fi
done
if [ -n "$pss_wanted" ]; then
  if pss_setup; then
    for ((pss_i = 0; pss_i < ${#pss_cases[@]}; pss_i += 2)); do run_case "${pss_cases[pss_i]}" "${pss_cases[pss_i + 1]}"; done
  else
    failed=$((failed + 1)); failures+=("pod security setup"); echo "FAIL  pod security setup: $reason"
  fi
  pss_teardown
fi
