#!/bin/sh
# podgate's scanner (the chart's CronJob, scanner.enabled): asks podgate which image digests run or
# were admitted with no fresh scan (GET /v1/scans/wanted), scans each with Trivy, and posts each
# report to podgate's scan API (POST /v1/scans). One JSON line per digest on stdout, then a summary
# line. A failed scan or import does not stop the others.
# Exit 0: every wanted digest was scanned and imported (or none was wanted); 1: some failed;
# 2: the list could not be read, or the environment is unusable.
#
# Environment:
#   PODGATE_URL         podgate's Service, "https://<fullname>.<namespace>.svc:443" (no trailing /)
#   PODGATE_CA_FILE     the CA that signed podgate's serving certificate
#   PODGATE_TOKEN_FILE  the scan API's bearer token (the chart's scanImport Secret)
#   SCAN_LIMIT          at most this many digests a run (default 50; podgate takes 1 to 10000)
#   WORK_DIR            writable: the list, the reports, the auth header (default $TMPDIR or /tmp)
#   TRIVY               the trivy command (default: trivy on PATH)
# Arguments: extra arguments for `trivy image` (the chart's scanner.args), e.g. --scanners vuln.
#
# HTTP goes through curl (the chart runs this in a curl image, with trivy's static binary copied
# in), or GNU wget. BusyBox's wget (Trivy's own Alpine image has no curl) cannot check a server
# against a given CA, and the token must reach podgate only: it lets its bearer mark images clean.
# No jq either: podgate's answer is compact JSON with a fixed member order, read with grep and sed.
set -u

log() { printf '%s\n' "$1"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# A JSON string's contents: control characters as spaces, cut at 400 bytes (before escaping, so no
# escape is cut in two), backslashes and quotes escaped.
json_text() { printf '%s' "$1" | tr '\000-\037' ' ' | cut -c1-400 | sed 's/\\/\\\\/g; s/"/\\"/g'; }
fatal() {
  log "{\"time\":\"$(now)\",\"level\":\"error\",\"msg\":\"$(json_text "$1")\"}"
  exit 2
}

url=${PODGATE_URL:-}
ca=${PODGATE_CA_FILE:-}
token_file=${PODGATE_TOKEN_FILE:-}
limit=${SCAN_LIMIT:-50}
trivy=${TRIVY:-trivy}
[ -n "$url" ] || fatal "PODGATE_URL is not set"
[ -r "$ca" ] || fatal "PODGATE_CA_FILE ($ca) cannot be read"
[ -r "$token_file" ] || fatal "PODGATE_TOKEN_FILE ($token_file) cannot be read"
case "$limit" in '' | *[!0-9]*) fatal "SCAN_LIMIT must be a whole number (got $limit)" ;; esac
command -v "$trivy" >/dev/null 2>&1 || fatal "$trivy is not on PATH"

work=$(mktemp -d "${WORK_DIR:-${TMPDIR:-/tmp}}/podgate-scan.XXXXXX") || fatal "cannot make a work directory"
trap 'rm -rf "$work"' EXIT
umask 077
# The token goes in a file the HTTP client reads, not on a command line other processes can see.
token=$(tr -d ' \t\r\n' <"$token_file")
[ -n "$token" ] || fatal "PODGATE_TOKEN_FILE ($token_file) is empty"
printf 'Authorization: Bearer %s\n' "$token" >"$work/auth-header"
printf 'header = Authorization: Bearer %s\n' "$token" >"$work/wgetrc"
unset token

if command -v curl >/dev/null 2>&1; then
  client=curl
elif wget --help 2>&1 | grep -q -- '--ca-certificate'; then
  client=wget
else
  fatal "no curl, and no wget that checks the server against PODGATE_CA_FILE (GNU wget); BusyBox's wget cannot, so the token is not sent"
fi

# http METHOD PATH OUT [BODY_FILE]: the answer's body in OUT; prints the HTTP status (000: none).
http() {
  if [ "$client" = curl ]; then
    if [ $# -ge 4 ]; then
      curl -sS -o "$3" -w '%{http_code}' --cacert "$ca" --max-time 300 -H @"$work/auth-header" \
        -H 'Content-Type: application/json' --data-binary @"$4" -X "$1" "$url$2" 2>"$work/http-error" || true
    else
      curl -sS -o "$3" -w '%{http_code}' --cacert "$ca" --max-time 300 -H @"$work/auth-header" \
        -X "$1" "$url$2" 2>"$work/http-error" || true
    fi
    return 0
  fi
  if [ $# -ge 4 ]; then
    wget --config="$work/wgetrc" -q -S --content-on-error --ca-certificate="$ca" --timeout=300 --tries=1 \
      --header='Content-Type: application/json' --post-file="$4" -O "$3" "$url$2" 2>"$work/http-error"
  else
    wget --config="$work/wgetrc" -q -S --content-on-error --ca-certificate="$ca" --timeout=300 --tries=1 \
      -O "$3" "$url$2" 2>"$work/http-error"
  fi
  status=$(sed -n 's/^ *HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*/\1/p' "$work/http-error" | tail -n 1)
  printf '%s' "${status:-000}"
}

# http_problem BODY_FILE STATUS: why an HTTP call failed, as plain text: podgate's {"error": ...}
# (unescaped), or the client's own message (GNU wget keeps no body of a 401).
http_problem() {
  problem=$(sed -n 's/.*"error":"\(.*\)"}.*/\1/p' "$1" 2>/dev/null | head -n 1 | sed 's/\\\(["\\]\)/\1/g')
  [ -n "$problem" ] || problem=$(grep -v '^ ' "$work/http-error" 2>/dev/null | tail -n 1)
  [ -n "$problem" ] || [ "$2" != 401 ] || problem="the bearer token (PODGATE_TOKEN_FILE) was refused"
  printf '%s' "$problem"
}

status=$(http GET "/v1/scans/wanted?limit=$limit" "$work/wanted.json")
[ "$status" = 200 ] ||
  fatal "GET $url/v1/scans/wanted: HTTP $status: $(http_problem "$work/wanted.json" "$status")"
grep -o '"digest":"[^"]*","reference":"[^"]*"' "$work/wanted.json" |
  sed 's/^"digest":"\([^"]*\)","reference":"\([^"]*\)"$/\1 \2/' >"$work/list"

wanted=0 stored=0 unchanged=0 failed=0
while read -r digest reference; do
  wanted=$((wanted + 1))
  started=$(date +%s)
  line="\"time\":\"$(now)\",\"digest\":\"$(json_text "$digest")\",\"reference\":\"$(json_text "$reference")\""
  # What trivy is given must be a pullable reference of this very digest, and never an option.
  if ! printf '%s\n' "$digest" | grep -Eq '^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$' ||
    ! printf '%s\n' "$reference" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9._:/@-]*$' ||
    [ "${reference%"@$digest"}" = "$reference" ]; then
    log "{$line,\"result\":\"refused\",\"error\":\"not a digest and a reference of it\"}"
    failed=$((failed + 1))
    continue
  fi
  report="$work/report.json"
  code=0
  "$trivy" image --format json --quiet "$@" "$reference" >"$report" 2>"$work/trivy-error" </dev/null || code=$?
  if [ "$code" -ne 0 ]; then
    log "{$line,\"result\":\"scan-failed\",\"exitCode\":$code,\"error\":\"$(json_text "$(tail -n 3 "$work/trivy-error")")\"}"
    failed=$((failed + 1))
    continue
  fi
  status=$(http POST /v1/scans "$work/answer.json" "$report")
  status=$(printf '%d' "$status" 2>/dev/null || echo 0)  # a number in the log line ("000": 0)
  seconds=$(($(date +%s) - started))
  case "$status" in
    201) result=stored stored=$((stored + 1)) ;;
    200) result=unchanged unchanged=$((unchanged + 1)) ;;
    *) result=import-failed failed=$((failed + 1)) ;;
  esac
  if [ "$result" = import-failed ]; then
    log "{$line,\"result\":\"$result\",\"status\":$status,\"seconds\":$seconds,\"error\":\"$(json_text "$(http_problem "$work/answer.json" "$status")")\"}"
  else
    log "{$line,\"result\":\"$result\",\"status\":$status,\"seconds\":$seconds}"
  fi
  rm -f "$report"
done <"$work/list"

log "{\"time\":\"$(now)\",\"msg\":\"scan run done\",\"wanted\":$wanted,\"stored\":$stored,\"unchanged\":$unchanged,\"failed\":$failed}"
[ "$failed" -eq 0 ] || exit 1
