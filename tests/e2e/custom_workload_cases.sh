# shellcheck shell=bash disable=SC2154  # sourced by run.sh, which sets here, work, pki, helm, repo, ...
# workloads.custom through the apiserver: sourced by run.sh, which defines k, run_case,
# expect_refused, exists, pids and the stack.
#
# The Argo Rollouts CRD (fixtures/argo-rollouts-crd.yaml, the spec kept as written) is applied, the
# main podgate's config gets `workloads.custom: [{group: argoproj.io, kind: Rollout, podSpecPath:
# spec.template.spec}]` by a SIGHUP reload, and the chart's ValidatingWebhookConfiguration rendered
# with the same config.workloads.custom replaces the registered one (as a chart upgrade would): it
# routes rollouts.argoproj.io to podgate, with the built-in kinds' rules unchanged.

custom_ns=e2e-custom

rollout_yaml() {  # name privileged: an Argo Rollout of $clean_image
  cat <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: $1, namespace: $custom_ns}
spec:
  replicas: 1
  strategy: {canary: {steps: [{setWeight: 20}]}}
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      containers:
        - name: app
          image: "$clean_image"
          securityContext: {privileged: $2}
EOF
}

custom_setup() {
  if ! k apply -f "$here/fixtures/argo-rollouts-crd.yaml" >/dev/null ||
    ! k wait --for condition=established --timeout=30s crd/rollouts.argoproj.io >/dev/null; then
    reason="the Rollout CRD was not established"; return 1
  fi
  k create namespace "$custom_ns" >/dev/null || { reason="could not create $custom_ns"; return 1; }
  # Before the entry: a privileged Rollout is not podgate's to judge (a dry run is admitted).
  out=$(rollout_yaml before true | k apply --dry-run=server -f - 2>&1) ||
    { reason="a Rollout was refused before workloads.custom: $out"; return 1; }

  cat >> "$work/podgate.yaml" <<'EOF'
workloads:
  custom:
    - {group: argoproj.io, kind: Rollout, podSpecPath: spec.template.spec}
EOF
  local reloads
  reloads=$(grep -c '"config reloaded"' "$work/podgate.log")
  kill -HUP "${pids[podgate]}" || { reason="could not signal podgate"; return 1; }
  for _ in $(seq 40); do
    [ "$(grep -c '"config reloaded"' "$work/podgate.log")" -gt "$reloads" ] && break
    sleep 0.25
  done
  [ "$(grep -c '"config reloaded"' "$work/podgate.log")" -gt "$reloads" ] ||
    { reason="podgate did not reload: $(tail -3 "$work/podgate.log")"; return 1; }

  "$helm" template podgate "$repo/charts/podgate" --namespace podgate --kube-version v1.34.4 \
    --set tls.existingSecret=podgate-tls --set-string tls.caBundle="$(base64 -w0 "$pki/webhook-ca.crt")" \
    --set-json 'config.workloads.custom=[{"group":"argoproj.io","kind":"Rollout","podSpecPath":"spec.template.spec"}]' \
    > "$work/chart-custom.yaml" || { reason="helm template with config.workloads.custom failed"; return 1; }
  python3 "$here/e2e_tools.py" webhook-config "$work/chart-custom.yaml" "https://127.0.0.1:$podgate_port" \
    "$pki/webhook-ca.crt" > "$work/webhook-custom.yaml" || { reason="no webhook configuration rendered"; return 1; }
  grep -q 'rollouts' "$work/webhook-custom.yaml" || { reason="the chart did not route rollouts"; return 1; }
  k apply -f "$work/webhook-custom.yaml" >/dev/null || { reason="the apiserver refused the webhook configuration"; return 1; }
  # The apiserver learns of the new rule through an informer: probe until podgate's answer shows.
  for _ in $(seq 60); do
    out=$(rollout_yaml probe true | k apply --dry-run=server -f - 2>&1)
    [[ $out == *"podgate denied"* ]] && return 0
    sleep 0.5
  done
  reason="the privileged Rollout probe was never refused: $out"; return 1
}

case_custom_privileged_rollout() {
  expect_refused "podgate denied Rollout $custom_ns/priv-rollout" k apply -f - < <(rollout_yaml priv-rollout true) ||
    return 1
  [[ $out == *'container "app" is privileged'* && $out == *spec.template.spec.containers* ]] ||
    { reason="message lacks the container or the manifest path: $out"; return 1; }
  ! exists -n "$custom_ns" rollout/priv-rollout || { reason="the Rollout exists after the refusal"; return 1; }
}

case_custom_clean_rollout() {
  out=$(k apply -f - < <(rollout_yaml web false) 2>&1) || { reason="clean Rollout refused: $out"; return 1; }
  exists -n "$custom_ns" rollout/web || { reason="the clean Rollout was not created"; return 1; }
  # UPDATE: turning the created Rollout privileged is refused too (a new violation).
  expect_refused "podgate denied Rollout $custom_ns/web" k apply -f - < <(rollout_yaml web true) || return 1
  [ "$(k -n "$custom_ns" get rollout web -o jsonpath='{.spec.template.spec.containers[0].securityContext.privileged}')" = false ] ||
    { reason="the stored Rollout changed"; return 1; }
  out="created clean; the privileged update refused"
}

case_custom_missing_pod_spec() {
  out=$(k apply -f - 2>&1 <<EOF
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: by-ref, namespace: $custom_ns}
spec:
  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}
EOF
) || { reason="a Rollout without a template was refused: $out"; return 1; }
  grep '"custom workload has no pod spec at its podSpecPath' "$work/podgate.log" | grep -q '"name":"by-ref"' ||
    { reason="podgate did not log the Rollout without a pod spec"; return 1; }
  local count
  count=$(curl -s "http://127.0.0.1:$metrics_port/metrics" |
    awk '/^podgate_custom_workload_missing_pod_spec_total\{group="argoproj.io",kind="Rollout"\}/ {print $2}')
  [ "${count:-0}" -ge 1 ] 2>/dev/null || { reason="podgate_custom_workload_missing_pod_spec_total is '${count}'"; return 1; }
  out="admitted, logged, counted ($count)"
}

if [ -z "${PODGATE_E2E_ONLY:-}" ] || [[ "custom workloads: Rollout" =~ $PODGATE_E2E_ONLY ]]; then
  if custom_setup; then
    run_case "custom workloads: a privileged Argo Rollout is refused at apply with the template's path" case_custom_privileged_rollout
    run_case "custom workloads: a clean Rollout is created, and its privileged update refused" case_custom_clean_rollout
    run_case "custom workloads: a Rollout without a template is admitted, logged and counted" case_custom_missing_pod_spec
  else
    failed=$((failed + 1)); failures+=("custom workloads setup"); echo "FAIL  custom workloads setup: $reason"
  fi
fi
