#!/usr/bin/env bash
# Turns a ClamAV scan of an image's filesystem into a podgate ScanVerdict (docs/scan-verdicts.md),
# printed on stdout, for `podgate scans import`.
#
# Run clamscan here:
#   clamav-verdict.sh --digest sha256:<hex> [--digest ...] [--artifact NAME] [--clamscan-option OPT ...] DIR
#     runs `clamscan -r --infected --no-summary DIR` and `clamscan --version`; paths in the verdict
#     are relative to DIR ("/usr/bin/x"), so DIR should be the unpacked image filesystem.
# Convert a scan that already ran (its stdout saved to FILE, its exit status N):
#   clamav-verdict.sh --digest sha256:<hex> --clamscan-output FILE --exit-code N \
#                     --clamscan-version "$(clamscan --version)" [--root DIR] [--time RFC3339]
#
# Result: "malicious" if any "<path>: <signature> FOUND" line, else "clean" if clamscan exited 0,
# else "error" (exit 2: clamscan could not scan everything; 1 without a FOUND line is inconsistent
# and also an error). Exit status: 0 when a verdict was printed, whatever its result; 2 on bad usage.
set -euo pipefail

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "clamav-verdict: $*" >&2
  exit 2
}

digests=()
artifact=""
output_file=""
exit_code=""
version_line=""
root=""
scan_time=""
scan_dir=""
clamscan_options=()

while [ $# -gt 0 ]; do
  case "$1" in
    --digest) [ $# -ge 2 ] || usage; digests+=("$2"); shift 2 ;;
    --artifact) [ $# -ge 2 ] || usage; artifact=$2; shift 2 ;;
    --clamscan-output) [ $# -ge 2 ] || usage; output_file=$2; shift 2 ;;
    --exit-code) [ $# -ge 2 ] || usage; exit_code=$2; shift 2 ;;
    --clamscan-version) [ $# -ge 2 ] || usage; version_line=$2; shift 2 ;;
    --clamscan-option) [ $# -ge 2 ] || usage; clamscan_options+=("$2"); shift 2 ;;
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
    --time) [ $# -ge 2 ] || usage; scan_time=$2; shift 2 ;;
    -h|--help) usage ;;
    --) shift; [ $# -eq 1 ] || usage; scan_dir=$1; shift ;;
    -*) die "unknown option $1 (--help lists them)" ;;
    *) [ -z "$scan_dir" ] || usage; scan_dir=$1; shift ;;
  esac
done

[ ${#digests[@]} -gt 0 ] || die "--digest is required (the manifest or index digest the scan is about)"
for d in "${digests[@]}"; do
  [[ $d =~ ^sha256:[0-9a-f]{64}$ || $d =~ ^sha512:[0-9a-f]{128}$ ]] ||
    die "malformed digest '$d' (expected sha256:<64 lowercase hex>)"
done

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT

if [ -n "$output_file" ]; then
  [ -z "$scan_dir" ] || die "give either DIR or --clamscan-output, not both"
  [ -r "$output_file" ] || die "cannot read $output_file"
  [[ $exit_code =~ ^[0-9]+$ ]] || die "--exit-code N is required with --clamscan-output"
  [ -n "$version_line" ] || die "--clamscan-version is required with --clamscan-output (the output of clamscan --version)"
  cp "$output_file" "$workdir/out"
  [ -n "$scan_time" ] || scan_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
else
  [ -n "$scan_dir" ] || usage
  [ -d "$scan_dir" ] || die "$scan_dir is not a directory"
  [ -z "$exit_code" ] || die "--exit-code goes with --clamscan-output"
  command -v clamscan >/dev/null 2>&1 ||
    die "clamscan not found: install ClamAV (Debian: apt-get install clamav; freshclam for signatures), or pass --clamscan-output"
  version_line=$(clamscan --version)
  # Absolute and physical, so the prefix clamscan prints is the one stripped below (and the
  # argument cannot be taken for an option).
  scan_dir=$(cd "$scan_dir" && pwd -P)
  [ -n "$root" ] || root=$scan_dir
  [ -n "$scan_time" ] || scan_time=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  # Symlinks inside an image point into the image ("/usr/lib/..."), which here would be the host:
  # never follow them.
  set +e
  clamscan -r --infected --no-summary --follow-dir-symlinks=0 --follow-file-symlinks=0 \
    ${clamscan_options[@]+"${clamscan_options[@]}"} "$scan_dir" >"$workdir/out"
  exit_code=$?
  set -e
fi

# "ClamAV 1.0.7/27500/Sat Nov 28 08:23:43 2026" (engine / daily database version / its date), or
# "ClamAV 1.0.7" when no database was found.
version_line=${version_line%%$'\n'*}
[[ $version_line == "ClamAV "* ]] || die "unexpected clamscan --version output '$version_line' (expected 'ClamAV <version>/<database>/<date>')"
rest=${version_line#ClamAV }
engine_version=${rest%%/*}
database=""
if [[ $rest == */* ]]; then
  rest=${rest#*/}
  database=${rest%%/*}
fi
[ -n "$engine_version" ] || die "no version in '$version_line'"

# File names in an image need not be UTF-8, and the verdict is JSON: keep valid UTF-8 as it is,
# otherwise turn every non-ASCII byte into '?' (the path is for people; the signature is ASCII).
if LC_ALL=C grep -q $'[\x80-\xff]' "$workdir/out" &&
   ! { command -v iconv >/dev/null 2>&1 && iconv -f UTF-8 -t UTF-8 "$workdir/out" >/dev/null 2>&1; }; then
  LC_ALL=C tr '\200-\377' '?' <"$workdir/out" >"$workdir/clean"
  mv "$workdir/clean" "$workdir/out"
fi

# JSON string escaping: backslash, quote, and the control bytes 0x01-0x1f as \u00XX.
control_chars=()
control_escapes=()
for code in $(seq 1 31); do
  printf -v ch "\\$(printf '%03o' "$code")"
  control_chars+=("$ch")
  printf -v esc '\\u%04x' "$code"
  control_escapes+=("$esc")
done
json_string() {
  local s=$1 i
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  for i in "${!control_chars[@]}"; do
    [[ $s == *"${control_chars[i]}"* ]] && s=${s//"${control_chars[i]}"/${control_escapes[i]}}
  done
  printf '"%s"' "$s"
}

root=${root%/}
findings=""
found=0
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%$'\r'}
  [[ $line == *": "*" FOUND" ]] || continue
  rest=${line% FOUND}
  path=${rest%: *}         # the path may itself contain ": ", the signature never does
  signature=${rest##*: }
  [ -n "$signature" ] && [ -n "$path" ] || continue
  if [ -n "$root" ]; then
    if [ "$path" = "$root" ]; then
      path=/
    elif [[ $path == "$root/"* ]]; then
      path=${path#"$root"}
    fi
  fi
  found=$((found + 1))
  [ -z "$findings" ] || findings+=","
  findings+=$'\n    {"id": '"$(json_string "$signature")"', "path": '"$(json_string "$path")"', "severity": "CRITICAL"}'
done <"$workdir/out"

if [ "$found" -gt 0 ]; then
  result=malicious
elif [ "$exit_code" -eq 0 ]; then
  result=clean
else
  result=error
  echo "clamav-verdict: clamscan exited $exit_code without a FOUND line: the verdict says \"error\"" >&2
fi

{
  echo '{'
  echo '  "apiVersion": "podgate.io/v1",'
  echo '  "kind": "ScanVerdict",'
  if [ ${#digests[@]} -eq 1 ]; then
    echo "  \"digest\": \"${digests[0]}\","
  else
    list=""
    for d in "${digests[@]}"; do list+="${list:+, }\"$d\""; done
    echo "  \"digests\": [$list],"
  fi
  [ -z "$artifact" ] || echo "  \"artifact\": $(json_string "$artifact"),"
  echo "  \"scanner\": {\"name\": \"clamav\", \"version\": $(json_string "$engine_version"), \"database\": $(json_string "$database")},"
  echo "  \"time\": $(json_string "$scan_time"),"
  echo "  \"result\": \"$result\","
  if [ -n "$findings" ]; then
    echo "  \"findings\": [$findings"
    echo '  ]'
  else
    echo '  "findings": []'
  fi
  echo '}'
}
