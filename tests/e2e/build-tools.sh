#!/usr/bin/env bash
# Builds the end-to-end suite's tools from the Go module proxy, once per machine:
#   kube-apiserver and kubectl (k8s.io/kubernetes, pinned below) and etcd (pinned below).
# No Docker engine runs here, so kind is out; a real apiserver + etcd on loopback is how envtest
# tests webhooks too. kubectl is built at the apiserver's version because the machine's kubectl
# (if any) may be outside the supported +/-1 minor skew.
#
# The binaries go to <repo>/.cache/e2e/<version>/ (ignored by git). When they exist and report the
# pinned versions, nothing is built. A cold build takes tens of minutes on 2 cores (measured figures
# are in tests/e2e/README.md); a warm run takes well under a second.
#
# Each tool is built from its own small Go module under tests/e2e/tools/ (committed go.mod/go.sum),
# because k8s.io/kubernetes maps its staging modules to v0.0.0 + local replaces, which a consumer
# must replace with the published k8s.io/X v0.34.y versions. See
# ../shared/reference/kube-apiserver-e2e.md or tests/e2e/README.md for the recipe.
#
# Usage: tests/e2e/build-tools.sh      prints the binary directory on its last line
# Env:   PODGATE_E2E_BUILD_JOBS (default 2)
#        PODGATE_E2E_BINDIR   use the tools already built there (e.g. another checkout's
#                             .cache/e2e/kube-...): checked for the pinned versions, never built into
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
tools="$repo/tests/e2e/tools"
kube_version=$(sed -n 's/^\/\/ podgate-pin: k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' "$tools/kube/go.mod")
etcd_version=$(sed -n 's/^\/\/ podgate-pin: go.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' "$tools/etcd/go.mod")
if [ -z "$kube_version" ] || [ -z "$etcd_version" ]; then
  echo "build-tools: version pins missing in tests/e2e/tools/*/go.mod" >&2; exit 1
fi
bindir=${PODGATE_E2E_BINDIR:-$repo/.cache/e2e/kube-$kube_version-etcd-$etcd_version}
jobs=${PODGATE_E2E_BUILD_JOBS:-2}

have_all() {
  [ -x "$bindir/kube-apiserver" ] && [ -x "$bindir/kubectl" ] && [ -x "$bindir/etcd" ] || return 1
  # Outputs are captured first: `cmd | grep -q` under pipefail fails when grep exits before cmd
  # finishes writing (SIGPIPE), which made a good build look broken.
  local out
  out=$("$bindir/kube-apiserver" --version 2>/dev/null) && [ "$out" = "Kubernetes $kube_version" ] || return 1
  out=$("$bindir/kubectl" version --client 2>/dev/null) && [[ $out == *"Client Version: $kube_version"* ]] || return 1
  out=$("$bindir/etcd" --version 2>/dev/null) && [[ $out == *"etcd Version: ${etcd_version#v}"* ]] || return 1
}

if have_all; then
  echo "build-tools: kube-apiserver/kubectl $kube_version and etcd $etcd_version already built" >&2
  echo "$bindir"; exit 0
fi
if [ -n "${PODGATE_E2E_BINDIR:-}" ]; then
  echo "build-tools: PODGATE_E2E_BINDIR=$bindir lacks kube-apiserver/kubectl $kube_version or etcd $etcd_version" >&2
  exit 1
fi
# The machine's Go when it is new enough, else the toolchain fetched into .cache/go/ (install-go.sh).
# shellcheck source=scripts/lib/go-env.sh
. "$repo/scripts/lib/go-env.sh"
podgate_go_env || { echo "build-tools: no Go to build kube-apiserver and etcd with (above)" >&2; exit 1; }
mkdir -p "$bindir"
exec 9>"$bindir/.lock"
flock 9
if have_all; then echo "$bindir"; exit 0; fi

start=$(date +%s)
scratch=$(mktemp -d "$bindir/.build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# readonly: build exactly the committed pins; no VCS stamping (CI may run in a foreign-owned checkout).
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

minor=$(echo "$kube_version" | cut -d. -f2)
echo "build-tools: building kube-apiserver and kubectl $kube_version ($(go version | cut -d' ' -f3), -p $jobs)" >&2
(cd "$tools/kube" && go build -p "$jobs" -trimpath -tags selinux,notest,grpcnotrace \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$kube_version \
            -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
            -X k8s.io/client-go/pkg/version.gitVersion=$kube_version \
            -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor" \
  -o "$scratch/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
echo "build-tools: kube tools built after $(( $(date +%s) - start ))s; building etcd $etcd_version" >&2
(cd "$tools/etcd" && go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$scratch/etcd" go.etcd.io/etcd/server/v3)
mv -f "$scratch/kube-apiserver" "$scratch/kubectl" "$scratch/etcd" "$bindir/"
have_all || { echo "build-tools: the built tools do not report the pinned versions" >&2; exit 1; }
echo "build-tools: built in $(( $(date +%s) - start ))s into $bindir" >&2
echo "$bindir"
