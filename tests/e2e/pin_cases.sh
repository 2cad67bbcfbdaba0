# shellcheck shell=bash disable=SC2154  # sourced by run.sh, which sets here, work, pki, registry, ...
# Digest pinning (rules.images.pinDigests) through the apiserver: sourced by run.sh, which defines
# k, push, pod_yaml, run_case and the stack (podgate on $podgate_port with pinDigests on and a 2 s
# resolve.cacheTTL, the registry, the chart's rendering in $work/chart-pin.yaml).
#
# The chart's MutatingWebhookConfiguration (pin.podgate.io, /mutate) is registered with one more
# namespaceSelector term, the namespace e2e-pin: the other cases' objects stay as written, so what
# they assert (and the audit cases' admitted tags) is unchanged.

pin_ns=e2e-pin
pin_cache_ttl=2  # seconds: rules.images.resolve.cacheTTL in run.sh's podgate.yaml

stored_image() {  # kind/name jsonpath-of-the-image: the image as the apiserver stored it
  k -n "$pin_ns" get "$1" -o jsonpath="$2"
}
judged_digests() {  # resource name: the podgate annotations of its create in the audit log (polled)
  for _ in $(seq 20); do  # blocking mode: the event is written when the request completes
    python3 "$here/e2e_tools.py" audit-annotations "$work/audit.log" "$1" "$pin_ns" "$2" && return 0
    sleep 0.25
  done
  return 1
}

pin_setup() {
  python3 "$here/e2e_tools.py" webhook-config "$work/chart-pin.yaml" "https://127.0.0.1:$podgate_port" \
    "$pki/webhook-ca.crt" MutatingWebhookConfiguration > "$work/mutating-webhook.yaml" ||
    { reason="the chart rendered no MutatingWebhookConfiguration with pinDigests on"; return 1; }
  grep -q 'path: /mutate\|/mutate$' "$work/mutating-webhook.yaml" || { reason="the mutating webhook does not call /mutate"; return 1; }
  k create namespace "$pin_ns" >/dev/null &&
  k apply -f "$work/mutating-webhook.yaml" >/dev/null &&
  k patch mutatingwebhookconfiguration podgate --type=json -p '[{"op":"add",
    "path":"/webhooks/0/namespaceSelector/matchExpressions/-",
    "value":{"key":"kubernetes.io/metadata.name","operator":"In","values":["'"$pin_ns"'"]}}]' >/dev/null ||
    { reason="the apiserver refused the chart's MutatingWebhookConfiguration"; return 1; }
  # Two images of one tag: v1 pushed now, v2 (another seed) pushed under "next" now and under the
  # same tag later (the re-push). Both scanned clean, so the validating webhook admits either.
  pin_image="$registry/e2e/pinned:1.0"
  pin_digest1=$(push e2e/pinned 1.0) &&
    pin_digest2=$(python3 "$here/e2e_tools.py" push-image "$registry" e2e/pinned next pinned-v2) ||
    { reason="could not push the pinned images"; return 1; }
  python3 "$here/e2e_tools.py" trivy-report "$pin_image" "$pin_digest1" > "$work/scan-pin-1.json"
  python3 "$here/e2e_tools.py" trivy-report "$pin_image" "$pin_digest2" > "$work/scan-pin-2.json"
  "$podgate" scans import -c "$work/podgate.yaml" "$work/scan-pin-1.json" "$work/scan-pin-2.json" >/dev/null ||
    { reason="could not import the pinned images' scans"; return 1; }
  # The apiserver learns of the webhook through an informer: probe until a dry run comes back pinned.
  local probe=""
  for _ in $(seq 60); do
    probe=$(pod_yaml probe "$pin_ns" "$pin_image" | k apply --dry-run=server -o jsonpath='{.spec.containers[0].image}' -f - 2>&1)
    [[ $probe == *@sha256:* ]] && return 0
    sleep 0.5
  done
  reason="the mutating webhook never pinned a dry run: $probe"; return 1
}

case_pin_deployment_and_pod() {
  out=$(k -n "$pin_ns" create deployment web --image="$pin_image" 2>&1) || { reason="Deployment refused: $out"; return 1; }
  local want="$pin_image@$pin_digest1" got
  got=$(stored_image deployment/web '{.spec.template.spec.containers[0].image}')
  [ "$got" = "$want" ] || { reason="the Deployment's template stores '$got', not '$want'"; return 1; }
  # No controller-manager runs: the ReplicaSet is made from the stored template, as its controller
  # would, and a Pod is created with the tag as a user writes it.
  k -n "$pin_ns" get deployment web -o json | python3 -c '
import json, sys
d = json.load(sys.stdin)
t = d["spec"]["template"]
t["metadata"]["labels"]["pod-template-hash"] = "pin1"
sel = dict(d["spec"]["selector"]["matchLabels"], **{"pod-template-hash": "pin1"})
print(json.dumps({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-pin1"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": sel}, "template": t}}))' |
    k -n "$pin_ns" apply -f - >/dev/null || { reason="the ReplicaSet from the template was refused"; return 1; }
  got=$(stored_image replicaset/web-pin1 '{.spec.template.spec.containers[0].image}')
  [ "$got" = "$want" ] || { reason="the ReplicaSet stores '$got', not '$want'"; return 1; }
  out=$(k apply -f - < <(pod_yaml tagged "$pin_ns" "$pin_image") 2>&1) || { reason="Pod refused: $out"; return 1; }
  got=$(stored_image pod/tagged '{.spec.containers[0].image}')
  [ "$got" = "$want" ] || { reason="the Pod stores '$got', not '$want'"; return 1; }
  # The validating webhook ran after the mutation and judged that digest (its audit annotation).
  local ann
  for ann in deployments/web pods/tagged; do
    out=$(judged_digests "${ann%/*}" "${ann#*/}") || { reason="no podgate audit annotation for the create of $ann"; return 1; }
    [[ $out == *enforce.podgate.io/images*"$pin_digest1"* ]] || { reason="$ann was not judged as $pin_digest1: $out"; return 1; }
  done
  grep '"msg":"admission mutated"' "$work/podgate.log" | grep '"kind":"Pod"' | grep '"name":"tagged"' |
    grep -q "\"pinned\":\"$want\"" || { reason="podgate's log has no /mutate line pinning Pod tagged to $want"; return 1; }
  out="stored as $want (Deployment, ReplicaSet, Pod); judged: $out"
}

case_pin_repush_keeps_stored_digest() {
  out=$(k apply -f - < <(pod_yaml before-repush "$pin_ns" "$pin_image") 2>&1) || { reason="Pod refused: $out"; return 1; }
  local got; got=$(stored_image pod/before-repush '{.spec.containers[0].image}')
  [ "$got" = "$pin_image@$pin_digest1" ] || { reason="before the re-push the Pod stores '$got'"; return 1; }
  local t_push=$SECONDS
  [ "$(python3 "$here/e2e_tools.py" push-image "$registry" e2e/pinned 1.0 pinned-v2)" = "$pin_digest2" ] ||
    { reason="the re-push gave another digest"; return 1; }
  got=$(stored_image pod/before-repush '{.spec.containers[0].image}')
  [ "$got" = "$pin_image@$pin_digest1" ] || { reason="after the re-push the stored Pod names '$got'"; return 1; }
  # Once the digest cache's entry has expired, a new Pod gets the tag's new digest.
  sleep "$pin_cache_ttl"; sleep 0.5
  out=$(k apply -f - < <(pod_yaml after-repush "$pin_ns" "$pin_image") 2>&1) || { reason="Pod refused: $out"; return 1; }
  got=$(stored_image pod/after-repush '{.spec.containers[0].image}')
  [ "$got" = "$pin_image@$pin_digest2" ] || { reason="a Pod made $((SECONDS - t_push))s after the re-push stores '$got'"; return 1; }
  got=$(stored_image pod/before-repush '{.spec.containers[0].image}')
  [ "$got" = "$pin_image@$pin_digest1" ] || { reason="the first Pod now names '$got'"; return 1; }
  out=$(judged_digests pods after-repush) || { reason="no podgate audit annotation for after-repush"; return 1; }
  [[ $out == *"$pin_digest2"* && $out != *"$pin_digest1"* ]] || { reason="after-repush was not judged as $pin_digest2: $out"; return 1; }
  out="before-repush keeps $pin_digest1; after-repush ($((SECONDS - t_push))s after the push) stores and was judged as $pin_digest2"
}

if [ -z "${PODGATE_E2E_ONLY:-}" ] || [[ "pin: digest pinning" =~ $PODGATE_E2E_ONLY ]]; then
  if pin_setup; then
    run_case "pin: a Deployment applied with a tag is stored pinned, so are its ReplicaSet and a tagged Pod, judged as that digest" case_pin_deployment_and_pod
    run_case "pin: a tag re-pushed after admission leaves the stored Pod's digest; a Pod after the cache TTL gets the new one" case_pin_repush_keeps_stored_digest
  else
    failed=$((failed + 1)); failures+=("pin setup"); echo "FAIL  pin setup: $reason"
  fi
fi
