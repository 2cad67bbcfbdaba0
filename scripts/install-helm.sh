#!/usr/bin/env bash
# Builds Helm v3 from the Go module proxy into <repo>/.cache/bin/helm (Helm is not a Debian package,
# and this machine may fetch nothing but registry packages). Pinned, so chart tests render the same
# everywhere. Idempotent: when .cache/bin/helm already runs and reports the pinned version, nothing
# is built. A cold build takes a few minutes on 2 cores; later runs take well under a second.
#
# Usage: scripts/install-helm.sh            prints the path of the helm binary on its last line
# Env:   HELM_VERSION (default below), PODGATE_HELM_BUILD_JOBS (default 2)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=${HELM_VERSION:-v3.22.0}
bindir="$repo/.cache/bin"
helm="$bindir/helm"

installed_version() {
  # A binary that exists but does not run (half-written, wrong architecture) counts as missing.
  "$helm" version --template '{{.Version}}' 2>/dev/null || true
}

if [ -x "$helm" ] && [ "$(installed_version)" = "$version" ]; then
  echo "install-helm: $version already built" >&2
  echo "$helm"
  exit 0
fi

# The machine's Go when it is new enough, else the toolchain fetched into .cache/go/ (install-go.sh).
# shellcheck source=scripts/lib/go-env.sh
. "$repo/scripts/lib/go-env.sh"
podgate_go_env || { echo "install-helm: no Go to build helm with (above)" >&2; exit 1; }

mkdir -p "$bindir"
# Two test runs starting at once must not build into the same place.
exec 9>"$bindir/.helm.lock"
flock 9
if [ -x "$helm" ] && [ "$(installed_version)" = "$version" ]; then
  echo "$helm"
  exit 0
fi

echo "install-helm: building helm $version from the Go module proxy ($(go version | cut -d' ' -f3))" >&2
start=$(date +%s)

# Helm's release Makefile stamps the version and the Kubernetes version that `helm template` reports
# as .Capabilities.KubeVersion (derived from the client-go it was built with). Without the latter,
# Helm falls back to v1.20 and charts that gate features on the Kubernetes version render wrongly.
mod_file=$(go mod download -json "helm.sh/helm/v3@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$mod_file" ] || { echo "install-helm: could not download helm.sh/helm/v3@$version" >&2; exit 1; }
client_go=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$mod_file")  # e.g. v0.37.0
[[ $client_go =~ ^v0\.([0-9]+)\. ]] || { echo "install-helm: unexpected client-go version '$client_go' in helm's go.mod" >&2; exit 1; }
k8s_major=1
k8s_minor=${BASH_REMATCH[1]}

ldflags="-w -s -X helm.sh/helm/v3/internal/version.version=$version"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=$k8s_major -X $pkg.k8sVersionMinor=$k8s_minor"
done

# Install into a scratch directory and rename, so an interrupted build never leaves a broken helm.
tmpbin=$(mktemp -d "$bindir/.helm-build.XXXXXX")
trap 'rm -rf "$tmpbin"' EXIT
CGO_ENABLED=0 GOBIN="$tmpbin" go install -p "${PODGATE_HELM_BUILD_JOBS:-2}" -trimpath \
  -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version"
mv -f "$tmpbin/helm" "$helm"

got=$(installed_version)
[ "$got" = "$version" ] || { echo "install-helm: built helm reports '$got', expected $version" >&2; exit 1; }
echo "install-helm: built helm $version (Kubernetes $k8s_major.$k8s_minor) in $(( $(date +%s) - start ))s" >&2
echo "$helm"
