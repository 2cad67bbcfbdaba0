#!/usr/bin/env bash
# Builds actionlint (the GitHub Actions workflow checker) from the Go module proxy into
# <repo>/.cache/bin/actionlint, as scripts/install-helm.sh does for Helm: the workflows in
# .github/workflows/ run only on GitHub, so this is what checks them here (tests/chart/test.sh).
# Pinned, so every machine reports the same findings. Idempotent: when .cache/bin/actionlint already
# runs and reports the pinned version, nothing is built. A cold build takes about a minute on 2 cores.
#
# Usage: scripts/install-actionlint.sh      prints the path of the actionlint binary on its last line
# Env:   ACTIONLINT_VERSION (default below), PODGATE_ACTIONLINT_BUILD_JOBS (default 2)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=${ACTIONLINT_VERSION:-v1.7.12}
bindir="$repo/.cache/bin"
actionlint="$bindir/actionlint"

installed_version() {
  # `actionlint -version` prints the version on its first line. A binary that exists but does not
  # run (half-written, wrong architecture) counts as missing.
  "$actionlint" -version 2>/dev/null | head -n 1 || true
}

if [ -x "$actionlint" ] && [ "$(installed_version)" = "$version" ]; then
  echo "install-actionlint: $version already built" >&2
  echo "$actionlint"
  exit 0
fi

# shellcheck source=scripts/lib/go-env.sh
. "$repo/scripts/lib/go-env.sh"
podgate_go_env || { echo "install-actionlint: no Go to build actionlint with (above)" >&2; exit 1; }

mkdir -p "$bindir"
# Two test runs starting at once must not build into the same place.
exec 9>"$bindir/.actionlint.lock"
flock 9
if [ -x "$actionlint" ] && [ "$(installed_version)" = "$version" ]; then
  echo "$actionlint"
  exit 0
fi

echo "install-actionlint: building actionlint $version from the Go module proxy ($(go version | cut -d' ' -f3))" >&2
start=$(date +%s)
# actionlint's release builds stamp the version this way (its .goreleaser.yml); without it
# `-version` would print "(devel)" and the check above would rebuild every time.
ldflags="-s -w -X github.com/rhysd/actionlint.version=$version"
# Install into a scratch directory and rename, so an interrupted build never leaves a broken binary.
tmpbin=$(mktemp -d "$bindir/.actionlint-build.XXXXXX")
trap 'rm -rf "$tmpbin"' EXIT
CGO_ENABLED=0 GOBIN="$tmpbin" go install -p "${PODGATE_ACTIONLINT_BUILD_JOBS:-2}" -trimpath \
  -ldflags "$ldflags" "github.com/rhysd/actionlint/cmd/actionlint@$version"
mv -f "$tmpbin/actionlint" "$actionlint"

got=$(installed_version)
[ "$got" = "$version" ] || { echo "install-actionlint: built actionlint reports '$got', expected $version" >&2; exit 1; }
echo "install-actionlint: built actionlint $version in $(( $(date +%s) - start ))s" >&2
echo "$actionlint"
