#!/usr/bin/env bash
# Builds Pod Security Admission's standalone webhook (k8s.io/pod-security-admission/cmd/webhook,
# pinned in tests/e2e/tools/psa-webhook/go.mod) from the Go module proxy, once per machine.
# bench/warm_path.sh runs it beside podgate (issue 17); no CI test needs it, so CI does not build it.
# It answers AdmissionReviews on every path with the Go packages of the in-tree PSA admission plugin,
# and watches Namespaces through a kubeconfig (there, tests/e2e/cluster.sh's apiserver).
#
# The binary goes to <repo>/.cache/psa-webhook/pod-security-admission-<v>/ (ignored by git). When it
# exists and reports the pinned version, nothing is built. Measured on the 2-core machine
# (2026-12-07, go1.26.8, other builds running, load average ~11): modules downloaded (`go mod
# download` of the missing ones took 8 s), Go build cache empty (GOCACHE a new temp dir):
# 11 min 25 s, 1.4 GB of build cache, a 66 MB binary; Go build cache warm: 8 s (the link);
# binary present: 0.07 s.
#
# The tools module selects exactly the versions of PSA's own go.mod (k8s.io/* v0.34.2; no replace
# lines): the packages and versions `go install k8s.io/pod-security-admission/cmd/webhook@<v>` builds,
# with the version stamped (its --version and metrics read it) and the symbols stripped.
#
# Usage: tests/e2e/build-psa-webhook.sh      prints the binary's path on its last line
# Env:   PODGATE_PSA_WEBHOOK_BINDIR   use the binary already built there (another checkout's
#                                     .cache/psa-webhook/...): checked for the pinned version, never
#                                     built into
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
tools="$repo/tests/e2e/tools"
psa_version=$(sed -n 's/^\/\/ podgate-pin: k8s.io\/pod-security-admission \(v[0-9.]*\)$/\1/p' "$tools/psa-webhook/go.mod")
[ -n "$psa_version" ] || { echo "build-psa-webhook: version pin missing in tests/e2e/tools/psa-webhook/go.mod" >&2; exit 1; }
# k8s.io staging modules v0.M.P are released with Kubernetes v1.M.P.
kube_version=v1.${psa_version#v0.}
bindir=${PODGATE_PSA_WEBHOOK_BINDIR:-$repo/.cache/psa-webhook/pod-security-admission-$psa_version}
bin="$bindir/pod-security-webhook"

have_it() {
  [ -x "$bin" ] || return 1
  # Captured first: `cmd | grep -q` under pipefail fails when grep exits early (build-tools.sh).
  local out
  out=$("$bin" --version 2>/dev/null) && [ "$out" = "Kubernetes $kube_version" ]
}

if have_it; then
  echo "build-psa-webhook: pod-security-admission $psa_version already built" >&2
  echo "$bin"; exit 0
fi
if [ -n "${PODGATE_PSA_WEBHOOK_BINDIR:-}" ]; then
  echo "build-psa-webhook: PODGATE_PSA_WEBHOOK_BINDIR=$bindir lacks the webhook $psa_version" >&2
  exit 1
fi
# The machine's Go when it is new enough, else the toolchain fetched into .cache/go/ (install-go.sh).
# shellcheck source=scripts/lib/go-env.sh
. "$repo/scripts/lib/go-env.sh"
podgate_go_env || { echo "build-psa-webhook: no Go to build the webhook with (above)" >&2; exit 1; }
mkdir -p "$bindir"
exec 9>"$bindir/.lock"
flock 9
if have_it; then echo "$bin"; exit 0; fi

start=$(date +%s)
scratch=$(mktemp -d "$bindir/.build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# readonly: build exactly the committed pins; no VCS stamping (CI may run in a foreign-owned checkout).
# No -trimpath, as build-cosign.sh: the packages then share the Go build cache with a plain
# `go install ...@version`.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
minor=$(echo "$kube_version" | cut -d. -f2)
echo "build-psa-webhook: building pod-security-admission $psa_version ($(go version | cut -d' ' -f3))" >&2
# `go mod download` fetches only what the module cache lacks; the build itself never goes online.
(cd "$tools/psa-webhook" && go mod download &&
 go build -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version \
                    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
   -o "$scratch/pod-security-webhook" k8s.io/pod-security-admission/cmd/webhook)
mv -f "$scratch/pod-security-webhook" "$bin"
have_it || { echo "build-psa-webhook: the built webhook does not report $kube_version" >&2; exit 1; }
echo "build-psa-webhook: built in $(( $(date +%s) - start ))s into $bindir" >&2
echo "$bin"
