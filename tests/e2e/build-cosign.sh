#!/usr/bin/env bash
# Builds the image-trust test tools from the Go module proxy, once per machine:
#   cosign (github.com/sigstore/cosign/v3, pinned in tests/e2e/tools/cosign/go.mod) makes real
#   signatures, both the Sigstore-bundle (OCI referrer) and the legacy `.sig` formats, and judges them;
#   crane (github.com/google/go-containerregistry, pinned in tests/e2e/tools/crane/go.mod) copies and
#   inspects registry objects;
#   referrers-registry (tools/crane/referrers-registry/main.go): go-containerregistry's in-memory
#   registry with the OCI 1.1 referrers API on. Neither Debian's docker-registry 2.8 nor `crane
#   registry serve` has that API (both answer 404), so this second flavour is what exercises a
#   verifier's referrers-API path.
# Debian packages none of them. The integration tests read PODGATE_COSIGN_BIN, PODGATE_CRANE_BIN and
# PODGATE_REFERRERS_REGISTRY_BIN, which scripts/test.sh sets from this script's output.
#
# The binaries go to <repo>/.cache/cosign/cosign-<v>-crane-<v>/ (ignored by git). When they exist
# and report the pinned versions, nothing is built. Measured on the 2-core machine (2026-12-07, with
# other builds running, load average ~10; tests/e2e/README.md has the table): modules already
# downloaded, empty Go build cache: 7 min 40 s, 7 min 30 s of it cosign (a 101 MB binary, 1.3 GB of
# build cache); fully cold (254 modules from the proxy too), a plain `go install` of cosign took
# 24 min; Go caches warm 10 s (the links); binaries present 0.2 s.
#
# Each tool is built from its own small module (committed go.mod/go.sum; regenerate with
# tests/e2e/tools/update-cosign.sh): cosign v3.1.3 wants go-containerregistry v0.21.7 and crane is
# v0.22.1, so one module would build cosign against a dependency set its authors never tested.
# The cosign module selects exactly the versions of cosign's own go.mod (no replace lines there).
#
# Usage: tests/e2e/build-cosign.sh      prints the binary directory on its last line
#        tests/e2e/build-cosign.sh --no-build   the same when the tools are there, else exit 3
#                                        (scripts/test.sh's quick mode: a cold build is minutes)
# Env:   PODGATE_COSIGN_BINDIR   use the tools already built there (another checkout's
#                                .cache/cosign/...): checked for the pinned versions, never built into
set -euo pipefail
no_build=0
[ "${1:-}" != --no-build ] || no_build=1

repo=$(cd "$(dirname "$0")/../.." && pwd)
tools="$repo/tests/e2e/tools"
cosign_version=$(sed -n 's/^\/\/ podgate-pin: github.com\/sigstore\/cosign\/v3 \(v[0-9.]*\)$/\1/p' "$tools/cosign/go.mod")
crane_version=$(sed -n 's/^\/\/ podgate-pin: github.com\/google\/go-containerregistry \(v[0-9.]*\)$/\1/p' "$tools/crane/go.mod")
if [ -z "$cosign_version" ] || [ -z "$crane_version" ]; then
  echo "build-cosign: version pins missing in tests/e2e/tools/{cosign,crane}/go.mod" >&2; exit 1
fi
bindir=${PODGATE_COSIGN_BINDIR:-$repo/.cache/cosign/cosign-$cosign_version-crane-$crane_version}

have_all() {
  [ -x "$bindir/cosign" ] && [ -x "$bindir/crane" ] && [ -x "$bindir/referrers-registry" ] || return 1
  # Outputs are captured first: `cmd | grep -q` under pipefail fails when grep exits before cmd
  # finishes writing (SIGPIPE), which made a good build look broken (build-tools.sh).
  local out
  out=$("$bindir/cosign" version 2>&1) && [[ $out == *"GitVersion:"*" $cosign_version"* ]] || return 1
  out=$("$bindir/crane" version 2>/dev/null) && [ "$out" = "$crane_version" ] || return 1
}

if have_all; then
  echo "build-cosign: cosign $cosign_version and crane $crane_version already built" >&2
  echo "$bindir"; exit 0
fi
if [ -n "${PODGATE_COSIGN_BINDIR:-}" ]; then
  echo "build-cosign: PODGATE_COSIGN_BINDIR=$bindir lacks cosign $cosign_version or crane $crane_version" >&2
  exit 1
fi
if [ "$no_build" = 1 ]; then
  echo "build-cosign: cosign $cosign_version and crane $crane_version are not built in $bindir (--no-build)" >&2
  exit 3
fi
# The machine's Go when it is new enough, else the toolchain fetched into .cache/go/ (install-go.sh).
# shellcheck source=scripts/lib/go-env.sh
. "$repo/scripts/lib/go-env.sh"
podgate_go_env || {
  echo "build-cosign: no Go to build cosign $cosign_version with (above); without the tools, ctest skips the cosign tests (PODGATE_COSIGN_BIN unset)" >&2
  exit 1; }
mkdir -p "$bindir"
exec 9>"$bindir/.lock"
flock 9
if have_all; then echo "$bindir"; exit 0; fi

start=$(date +%s)
scratch=$(mktemp -d "$bindir/.build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# readonly: build exactly the committed pins; no VCS stamping (CI may run in a foreign-owned checkout).
# No -trimpath: the packages then compile with the same action ids as a plain `go install
# ...@version`, so a machine that has built either shares the Go build cache.
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

echo "build-cosign: building cosign $cosign_version ($(go version | cut -d' ' -f3))" >&2
# Built from our module, cosign's main module version is "(devel)", so its version is stamped as
# cosign's own Makefile does.
(cd "$tools/cosign" && go build -ldflags "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$cosign_version" \
  -o "$scratch/cosign" github.com/sigstore/cosign/v3/cmd/cosign)
echo "build-cosign: cosign built after $(( $(date +%s) - start ))s; building crane $crane_version" >&2
(cd "$tools/crane" && go build -ldflags "-s -w -X github.com/google/go-containerregistry/cmd/crane/cmd.Version=$crane_version" \
  -o "$scratch/crane" github.com/google/go-containerregistry/cmd/crane)
(cd "$tools/crane" && go build -ldflags "-s -w" -o "$scratch/referrers-registry" ./referrers-registry)
mv -f "$scratch/cosign" "$scratch/crane" "$scratch/referrers-registry" "$bindir/"
have_all || { echo "build-cosign: the built tools do not report the pinned versions" >&2; exit 1; }
echo "build-cosign: built in $(( $(date +%s) - start ))s into $bindir" >&2
echo "$bindir"
