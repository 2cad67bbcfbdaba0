#!/usr/bin/env bash
# The chart's scanner CronJob script (charts/podgate/files/scan-wanted.sh) against a running podgate:
# it reads GET /v1/scans/wanted, scans each digest, posts each report to POST /v1/scans, and keeps
# going past a failed scan. Meant to be called by tests/e2e/run.sh once podgate serves the wanted
# list (the continuous audit on, with Pods running unscanned images).
#
# Trivy and its vulnerability database cannot be fetched on the project's machines, so the script
# runs with a stand-in `trivy` first on PATH (tests/e2e/fixtures/fake-trivy/trivy: a report in
# Trivy's real format, no findings). Everything else is real: podgate's TLS checked against its CA,
# the bearer token, the import, and the wanted list shrinking once the scans are in.
#
# Env (required):
#   PODGATE_URL          https://HOST:PORT of the podgate under test (its certificate must name HOST)
#   PODGATE_CA_FILE      the CA that signed podgate's serving certificate
#   PODGATE_TOKEN_FILE   the scan API token file podgate was started with (scans.apiTokenFile)
# Env (optional):
#   SCANNER_MIN_WANTED   fail unless at least this many digests are wanted at first (default 1)
#   SCANNER_SHELL        the shell that runs the script (default sh; "busybox sh" as in the image)
# Prints one line per check and "scanner: N passed, M failed"; exit 0 only if all passed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
script="$repo/charts/podgate/files/scan-wanted.sh"
fake="$repo/tests/e2e/fixtures/fake-trivy"
: "${PODGATE_URL:?set PODGATE_URL}" "${PODGATE_CA_FILE:?set PODGATE_CA_FILE}" "${PODGATE_TOKEN_FILE:?set PODGATE_TOKEN_FILE}"
min_wanted=${SCANNER_MIN_WANTED:-1}
read -r -a shell <<<"${SCANNER_SHELL:-sh}"
work=$(mktemp -d /tmp/podgate-scanner-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
check() {  # name, then a command that succeeds when the check holds (sets $reason when not)
  local name=$1
  shift
  reason=""
  if "$@"; then
    passed=$((passed + 1))
    echo "PASS  scanner: $name"
  else
    failed=$((failed + 1))
    echo "FAIL  scanner: $name: $reason"
  fi
}

api() {  # METHOD PATH -> the body on stdout, the HTTP status in $work/status
  curl -sS --cacert "$PODGATE_CA_FILE" -H "Authorization: Bearer $(tr -d ' \t\r\n' <"$PODGATE_TOKEN_FILE")" \
    -o "$work/body" -w '%{http_code}' -X "$1" "$PODGATE_URL$2" >"$work/status" 2>"$work/curl-error"
  cat "$work/body"
}
wanted_digests() { api GET "/v1/scans/wanted?limit=10000" | grep -o '"digest":"sha256:[0-9a-f]*"' | cut -d'"' -f4; }

run_script() {  # [ENV=VALUE...]: runs the script with the stand-in trivy; output in $work/out, status in $rc
  env PATH="$fake:$PATH" FAKE_TRIVY_LOG="$work/trivy-calls" WORK_DIR="$work" SCAN_LIMIT=10000 \
    PODGATE_URL="$PODGATE_URL" PODGATE_CA_FILE="$PODGATE_CA_FILE" PODGATE_TOKEN_FILE="$PODGATE_TOKEN_FILE" \
    "$@" "${shell[@]}" "$script" --scanners vuln >"$work/out" 2>&1
  rc=$?
}

lines_with() { grep -c "$1" "$work/out" || true; }

wanted_at_first() {
  wanted_digests >"$work/before"
  [ "$(cat "$work/status")" = 200 ] || { reason="GET /v1/scans/wanted: $(cat "$work/status") $(cat "$work/body")"; return 1; }
  local n
  n=$(wc -l <"$work/before")
  [ "$n" -ge "$min_wanted" ] || { reason="$n digests wanted, expected at least $min_wanted"; return 1; }
}

first_run_survives_a_failed_scan() {
  local victim
  victim=$(head -n 1 "$work/before" | cut -d: -f2)
  run_script FAKE_TRIVY_FAIL="$victim"
  [ "$rc" = 1 ] || { reason="exit $rc, expected 1: $(tail -n 5 "$work/out")"; return 1; }
  local total stored
  total=$(wc -l <"$work/before")
  stored=$(lines_with '"result":"stored"')
  [ "$(lines_with '"result":"scan-failed"')" = 1 ] || { reason="not one scan-failed line: $(cat "$work/out")"; return 1; }
  [ "$stored" = $((total - 1)) ] || { reason="$stored stored, expected $((total - 1)): $(cat "$work/out")"; return 1; }
  grep -q "\"msg\":\"scan run done\",\"wanted\":$total,\"stored\":$stored,\"unchanged\":0,\"failed\":1" "$work/out" ||
    { reason="no summary line: $(tail -n 1 "$work/out")"; return 1; }
  grep -q -- '--scanners vuln' "$work/trivy-calls" || { reason="trivy not given the extra arguments: $(cat "$work/trivy-calls")"; return 1; }
}

second_run_scans_the_rest() {
  run_script
  [ "$rc" = 0 ] || { reason="exit $rc: $(tail -n 5 "$work/out")"; return 1; }
  [ "$(lines_with '"result":"stored"')" = 1 ] || { reason="expected only the failed digest again: $(cat "$work/out")"; return 1; }
}

every_digest_stored_and_no_longer_wanted() {
  local digest
  while read -r digest; do
    api GET "/v1/scans/$digest" >/dev/null
    [ "$(cat "$work/status")" = 200 ] || { reason="GET /v1/scans/$digest: $(cat "$work/status")"; return 1; }
  done <"$work/before"
  # A store read from the cluster (ImageScans) sees an import once its watch brings it: a few seconds.
  local still attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    wanted_digests >"$work/after"
    still=$(grep -cxFf "$work/before" "$work/after" || true)
    [ "$still" != 0 ] || return 0
    sleep 0.5
  done
  reason="$still scanned digests still wanted after $attempt tries"
  return 1
}

wrong_token_refused() {
  printf '%s\n' "not-the-token-0123456789abcdef0123456789" >"$work/wrong-token"
  run_script PODGATE_TOKEN_FILE="$work/wrong-token"
  if [ "$rc" != 2 ] || ! grep -q 'HTTP 401' "$work/out"; then
    reason="exit $rc: $(cat "$work/out")"
    return 1
  fi
}

unknown_ca_refused() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/other.key" \
    -subj "/CN=not podgate's CA" -days 1 -out "$work/other-ca.crt" 2>/dev/null
  run_script PODGATE_CA_FILE="$work/other-ca.crt"
  if [ "$rc" != 2 ] || ! grep -q 'HTTP 000' "$work/out"; then
    reason="exit $rc: $(cat "$work/out")"
    return 1
  fi
}

check "GET /v1/scans/wanted lists at least $min_wanted digest(s)" wanted_at_first
if [ "$failed" = 0 ]; then
  check "a failed scan is logged and the other digests are still scanned and stored (exit 1)" \
    first_run_survives_a_failed_scan
  check "the next run scans what failed (exit 0)" second_run_scans_the_rest
  check "every digest has a scan in podgate and is no longer wanted" every_digest_stored_and_no_longer_wanted
fi
check "a wrong token: exit 2 with podgate's 401" wrong_token_refused
check "a server that podgate's CA did not sign: exit 2, nothing sent" unknown_ca_refused
echo "scanner: $passed passed, $failed failed"
[ "$failed" = 0 ]
