#!/usr/bin/env bash
# Makes the Pod Security Admission test fixtures available and prints their module directory:
#   k8s.io/pod-security-admission (pinned below), whose test/testdata/{baseline,restricted}/v1.N/
#   {pass,fail}/*.yaml are the specification the conformance suite
#   (tests/conformance/pod_security_test.cpp) checks rules.podSecurity against.
# Downloaded with Go (scripts/lib/go-env.sh: the machine's, or the one install-go.sh fetches) from the Go module proxy (checked against the Go checksum
# database), into Go's module cache ($GOMODCACHE, default ~/go/pkg/mod): once per machine, shared by
# every checkout, read-only. Nothing is built and nothing goes into the repository.
#
# Measured on the 2-core machine (2026-12-07, other builds running): cold, with an empty
# GOMODCACHE=/tmp/x, 1.0 s (0.98 s wall: one 2.2 MB zip from the proxy, 21 MB in the cache once
# unpacked); warm 0.04 s, and it works offline (checked with GOPROXY=off).
#
# Usage: tests/conformance/psa-fixtures.sh    prints the module directory on its last line
#        (scripts/test.sh exports it as PODGATE_PSA_FIXTURES for ctest)
# Env:   PODGATE_PSA_FIXTURES   a module directory already there (another machine's copy, an
#                               unpacked zip): checked for the fixtures, never downloaded into
set -euo pipefail

module=k8s.io/pod-security-admission
# The PSA release the standards are pinned to (Kubernetes v1.34.2: the e2e suite's apiserver minor).
version=v0.34.2

has_fixtures() { [ -d "$1/test/testdata/baseline/v1.0/pass" ] && [ -d "$1/test/testdata/restricted/v1.0/fail" ]; }

if [ -n "${PODGATE_PSA_FIXTURES:-}" ]; then
  has_fixtures "$PODGATE_PSA_FIXTURES" || {
    echo "psa-fixtures: PODGATE_PSA_FIXTURES=$PODGATE_PSA_FIXTURES has no test/testdata/{baseline,restricted}/v1.N/{pass,fail}" >&2
    exit 1; }
  echo "$PODGATE_PSA_FIXTURES"; exit 0
fi
# The machine's Go when it is new enough, else the toolchain fetched into .cache/go/ (install-go.sh).
# shellcheck source=scripts/lib/go-env.sh
. "$(dirname "$0")/../../scripts/lib/go-env.sh"
podgate_go_env || {
  echo "psa-fixtures: no Go to download $module@$version with (above); without it, ctest skips the Pod Security conformance suite (PODGATE_PSA_FIXTURES unset)" >&2
  exit 1; }

start=$(date +%s)
# Outside any module (a go.mod or go.work above the working directory would make this its
# download), so run from an empty directory; -mod=mod because no go.mod is being read-only checked.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
json=$(cd "$scratch" && GOFLAGS=-mod=mod GOWORK=off GO111MODULE=on go mod download -json "$module@$version") || {
  echo "psa-fixtures: go mod download $module@$version failed (no network to the Go module proxy?)" >&2
  exit 1; }
# `go mod download -json` prints {"Path":..., "Dir": "...", "Error": "..."}; Dir is the unpacked module.
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
err=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')
[ -z "$err" ] || { echo "psa-fixtures: go mod download $module@$version: $err" >&2; exit 1; }
if [ -z "$dir" ] || ! has_fixtures "$dir"; then
  echo "psa-fixtures: $module@$version downloaded to '${dir}' but it has no test/testdata fixtures" >&2
  exit 1
fi
echo "psa-fixtures: $module@$version at $dir ($(find "$dir/test/testdata" -name '*.yaml' | wc -l) fixtures, $(( $(date +%s) - start ))s)" >&2
echo "$dir"
