#!/usr/bin/env bash
# lib/kube against a real kube-apiserver: starts etcd and kube-apiserver on loopback as run.sh does
# (plus a static token file, and API Priority and Fairness, on by default), applies a small test CRD
# (widgets.test.podgate.io, cluster-scoped), the ImageScan, PolicyReport and Report CRDs, RBAC for
# the test user and an APF priority level that rejects, then runs the test binary
# (kube_client_test.cpp, kube_store_test.cpp, audit_reports_test.cpp, lease_test.cpp,
# namespace_standards_test.cpp) one test case at a time and prints
# "N passed, N failed". Every process is stopped on exit, failure or interrupt.
#
# The test user is a client certificate CN=podgate-test, O=podgate-testers (and the same user by a
# static bearer token), bound by RBAC to widgets, ImageScans and Leases only, never system:masters;
# a second token user, podgate-throttled, is sent by a FlowSchema to a priority level of one share
# that rejects (429).
# The admin certificate (system:masters) is for setup with kubectl only.
#
# A test case may ask for the apiserver to be stopped and started again: it writes the outage's
# seconds to $PODGATE_E2E_CONTROL/restart; this script stops the apiserver, touches "stopped",
# sleeps, starts it, waits for /readyz, and touches "started".
#
# Usage: tests/e2e/kube_client.sh     (exit 0 only if every case passed)
# Env:   PODGATE_E2E_KUBE_CLIENT_BIN  the test binary (default build/tests/podgate_e2e_kube_client,
#                                     built with scripts/build.sh if missing)
#        PODGATE_E2E_BINDIR           kube-apiserver, kubectl and etcd from there (build-tools.sh)
#        PODGATE_E2E_KEEP=1           keep the temp directory (logs, certificates, kubeconfigs)
#        PODGATE_E2E_ONLY=<regex>     run only the cases whose names match
#        PODGATE_E2E_VERBOSE=1        print each case's full output
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/e2e"
started=$(date +%s)
log() { echo "e2e-kube: $*" >&2; }
die() { echo "e2e-kube: FATAL: $*" >&2; exit 1; }

# ---- tools ----------------------------------------------------------------------------------------
bindir=$(bash "$here/build-tools.sh" | tail -1) || die "could not build kube-apiserver/kubectl/etcd"
test_bin=${PODGATE_E2E_KUBE_CLIENT_BIN:-$repo/build/tests/podgate_e2e_kube_client}
if [ ! -x "$test_bin" ]; then
  bash "$repo/scripts/build.sh" default podgate_e2e_kube_client >&2 || die "could not build the test binary"
fi

work=$(mktemp -d /tmp/podgate-kube-e2e.XXXXXX)
. "$here/cluster.sh"
cleanup() {
  local rc=$?
  stop_all test kube-apiserver etcd
  if [ "${PODGATE_E2E_KEEP:-0}" = 1 ]; then
    log "kept $work (exit $rc)"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- certificates, tokens, kubeconfigs ------------------------------------------------------------
cluster_init "$work" "$bindir" || die "openssl failed"
new_cert podgate-test cluster-ca "/O=podgate-testers/CN=podgate-test" "extendedKeyUsage=clientAuth"

# Static tokens (--token-auth-file: token,user,uid,"groups"), read by the apiserver at start.
random_token() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
random_token > "$work/token-podgate-test"
random_token > "$work/token-podgate-throttled"
cat > "$pki/tokens.csv" <<EOF
$(cat "$work/token-podgate-test"),podgate-test,uid-podgate-test,"podgate-testers"
$(cat "$work/token-podgate-throttled"),podgate-throttled,uid-podgate-throttled,"podgate-testers"
EOF

kubeconfig_for podgate-test

# ---- processes ------------------------------------------------------------------------------------
start_etcd || die "etcd did not start"
apiserver_extra_args=(--token-auth-file="$pki/tokens.csv")
start_apiserver || die "kube-apiserver did not become ready"
log "kube-apiserver $("$bindir/kube-apiserver" --version | cut -d' ' -f2) ready on 127.0.0.1:$api_port"

# ---- what the tests need --------------------------------------------------------------------------
k apply -f - >/dev/null <<'EOF' || die "could not apply the test CRD"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.podgate.io}
spec:
  group: test.podgate.io
  scope: Cluster
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                value: {type: integer}
                note: {type: string}
EOF
k apply -f "$repo/charts/podgate/crds/imagescans.podgate.io.yaml" >/dev/null || die "could not apply the ImageScan CRD"
# The report CRDs as Kyverno installs them (tests/e2e/fixtures/, with their source), so the
# apiserver validates the audit's reports against the schemas clusters run.
k apply -f "$here/fixtures/wgpolicyk8s.io_policyreports.yaml" -f "$here/fixtures/openreports.io_reports.yaml" >/dev/null ||
  die "could not apply the PolicyReport and Report CRDs"
k wait --for condition=established --timeout=60s crd/widgets.test.podgate.io crd/imagescans.podgate.io \
  crd/policyreports.wgpolicyk8s.io crd/reports.openreports.io >/dev/null ||
  die "the test CRDs were not established"
k create namespace podgate-audit >/dev/null || die "could not create the namespace podgate-audit"
k apply -f - >/dev/null <<'EOF' || die "could not apply RBAC and the APF configuration"
# The test users may do everything to widgets (the client's cases) and ImageScans (the shared scan
# store's cases, tests/e2e/kube_store_test.cpp), write the audit's reports and Events, get, create
# and update Leases (the leader election's cases, tests/e2e/lease_test.cpp), read Pods and the
# owners the Auditor walks up, read Namespaces (their PSA labels), and nothing else.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: podgate-e2e-widgets}
rules:
  - apiGroups: [test.podgate.io]
    resources: [widgets]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [podgate.io]
    resources: [imagescans]
    verbs: [get, list, watch, create, update, patch, delete]
  # The audit's reports and Events (tests/e2e/audit_reports_test.cpp).
  - apiGroups: [wgpolicyk8s.io]
    resources: [policyreports]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [openreports.io]
    resources: [reports]
    verbs: [get, list, watch, create, update, patch, delete]
  - apiGroups: [events.k8s.io]
    resources: [events]
    verbs: [get, list, watch, create, patch]
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update]
  # The Auditor's case: it list-watches Pods and reads the owners it walks up.
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch]
  - apiGroups: [apps]
    resources: [replicasets]
    verbs: [get]
  - apiGroups: [batch]
    resources: [jobs]
    verbs: [get]
  # rules.podSecurity.namespaceLabels (tests/e2e/namespace_standards_test.cpp), as the chart grants.
  - apiGroups: [""]
    resources: [namespaces]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: podgate-e2e-widgets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: podgate-e2e-widgets}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: podgate-testers}
---
# API Priority and Fairness: podgate-throttled gets one share (a concurrency limit of a few seats),
# may neither lend nor borrow seats, and is rejected with 429 instead of queued.
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata: {name: podgate-e2e-throttled}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse: {type: Reject}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata: {name: podgate-e2e-throttled}
spec:
  priorityLevelConfiguration: {name: podgate-e2e-throttled}
  matchingPrecedence: 500
  distinguisherMethod: {type: ByUser}
  rules:
    - subjects: [{kind: User, user: {name: podgate-throttled}}]
      resourceRules:
        - {verbs: ["*"], apiGroups: ["*"], resources: ["*"], clusterScope: true, namespaces: ["*"]}
EOF
# The test user is what the tests claim it is: widgets (and Leases) yes, anything else no.
[ "$(k auth can-i watch widgets.test.podgate.io --as=podgate-test --as-group=podgate-testers)" = yes ] ||
  die "RBAC: podgate-test cannot watch widgets"
[ "$(k auth can-i update leases.coordination.k8s.io -n default --as=podgate-test --as-group=podgate-testers)" = yes ] ||
  die "RBAC: podgate-test cannot update leases"
[ "$(k auth can-i list secrets -A --as=podgate-test --as-group=podgate-testers 2>/dev/null)" = no ] ||
  die "RBAC: podgate-test can list secrets"
ready=$(date +%s)
log "stack ready in $((ready - started))s; running cases"

# ---- cases ----------------------------------------------------------------------------------------
control="$work/control"; mkdir -p "$control"
export PODGATE_E2E_SERVER="https://127.0.0.1:$api_port"
export PODGATE_E2E_KUBECONFIG="$work/kubeconfig-podgate-test"
export PODGATE_E2E_TOKEN_FILE="$work/token-podgate-test"
export PODGATE_E2E_THROTTLED_TOKEN_FILE="$work/token-podgate-throttled"
export PODGATE_E2E_ADMIN_KUBECONFIG="$work/kubeconfig-admin"
export PODGATE_E2E_KUBECTL="$bindir/kubectl"
export PODGATE_E2E_ETCD="http://127.0.0.1:$etcd_port"
export PODGATE_E2E_CONTROL="$control"
export PODGATE_E2E_FIXTURES="$here/fixtures"

# Serves the test's restart requests while it runs; returns its exit status.
run_binary() {  # logfile args...
  local logfile=$1; shift
  "$test_bin" "$@" >"$logfile" 2>&1 &
  pids[test]=$!
  while kill -0 "${pids[test]}" 2>/dev/null; do
    if [ -f "$control/restart" ]; then
      local seconds
      seconds=$(cat "$control/restart"); rm -f "$control/restart"
      log "stopping kube-apiserver for ${seconds}s, as the test asked"
      stop_process kube-apiserver
      touch "$control/stopped"
      sleep "$seconds"
      start_apiserver || log "kube-apiserver did not come back"
      log "kube-apiserver is back"
      touch "$control/started"
    fi
    sleep 0.2
  done
  wait "${pids[test]}"
  local rc=$?
  unset "pids[test]"
  return $rc
}

# Catch2 v2 exits with the number of tests it listed.
mapfile -t cases < <("$test_bin" --list-test-names-only 2>/dev/null | sed '/^$/d' || true)
[ "${#cases[@]}" -gt 0 ] || die "the test binary lists no test cases"
passed=0 failed=0
declare -a failures=()
n=0
for name in "${cases[@]}"; do
  if [ -n "${PODGATE_E2E_ONLY:-}" ] && ! [[ $name =~ $PODGATE_E2E_ONLY ]]; then continue; fi
  n=$((n + 1))
  out="$work/case-$n.log"
  t0=$SECONDS
  # Catch2 reads a name as a test spec, where ',' separates alternatives and '[' starts a tag:
  # escape them, or a name with a comma matches nothing. --warn NoTests: a spec that matches no case
  # fails instead of passing with "No tests ran" (it once hid every case whose name has a comma).
  spec=${name//\\/\\\\}; spec=${spec//,/\\,}; spec=${spec//[/\\[}
  if run_binary "$out" "$spec" --warn NoTests --use-colour no --durations yes; then
    passed=$((passed + 1)); echo "PASS  $name ($((SECONDS - t0))s)"
    # What the case reported (its WARN lines), as evidence.
    awk '/: warning:$/ { w = 1; next } w && /^$/ { w = 0 } w { sub(/^ */, ""); print "      " $0 }' "$out"
    [ "${PODGATE_E2E_VERBOSE:-0}" != 1 ] || sed 's/^/      /' "$out"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "FAIL  $name ($((SECONDS - t0))s)"
    # A sanitizer's report: its head names the racing accesses, which a plain tail cuts off.
    report=$(grep -n -m1 -E 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$out" | cut -d: -f1)
    if [ -n "$report" ]; then
      sed -n "${report},$((report + 40))p" "$out" | cut -c1-240 | sed 's/^/      /'
      echo "      [...]"
      tail -20 "$out" | cut -c1-240 | sed 's/^/      /'
    else
      tail -60 "$out" | sed 's/^/      /'
    fi
  fi
done

echo "e2e-kube: $passed passed, $failed failed (stack $((ready - started))s, cases $(( $(date +%s) - ready ))s)"
if [ "$failed" -ne 0 ]; then
  log "failed: ${failures[*]}"
  log "kube-apiserver log tail:"; tail -5 "$work/kube-apiserver.log" >&2
  exit 1
fi
