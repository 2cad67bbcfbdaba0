#!/usr/bin/env bash
# Regenerates the PSA webhook's tools module (go.mod/go.sum) for the pinned version. Run it by hand
# when bumping the version; tests/e2e/build-psa-webhook.sh only reads the committed files.
# Usage: tests/e2e/tools/update-psa-webhook.sh <pod-security-admission version, e.g. v0.34.2>
set -euo pipefail
psa=${1:?pod-security-admission version}
here=$(cd "$(dirname "$0")" && pwd)
# The same Go as the build scripts: the machine's when new enough, else .cache/go/'s.
# shellcheck source=scripts/lib/go-env.sh
. "$here/../../../scripts/lib/go-env.sh"
podgate_go_env

cd "$here/psa-webhook"
rm -f go.mod go.sum
go mod init podgate.test/e2e-tools/psa-webhook
# PSA sets this in its own go.mod, and a dependency's godebug is ignored.
go mod edit -godebug=default=go1.24
go get -tool "k8s.io/pod-security-admission/cmd/webhook@$psa"
go mod tidy
sed -i "1i // podgate-pin: k8s.io/pod-security-admission $psa\n// Tools module for bench/warm_path.sh: builds PSA's standalone webhook. Regenerate with\n// tests/e2e/tools/update-psa-webhook.sh. The versions are exactly PSA's own go.mod's." go.mod
echo "update-psa-webhook: pinned k8s.io/pod-security-admission $psa"
