#!/usr/bin/env bash
# Regenerates the image-trust tools modules (go.mod/go.sum) for the pinned versions. Run it by hand
# when bumping a version; tests/e2e/build-cosign.sh only reads the committed files.
# Usage: tests/e2e/tools/update-cosign.sh <cosign version, e.g. v3.1.3> <go-containerregistry version, e.g. v0.22.1>
set -euo pipefail
cosign=${1:?cosign version}; crane=${2:?go-containerregistry version}
here=$(cd "$(dirname "$0")" && pwd)
# The same Go as the build scripts: the machine's when new enough, else .cache/go/'s.
# shellcheck source=scripts/lib/go-env.sh
. "$here/../../../scripts/lib/go-env.sh"
podgate_go_env

cd "$here/cosign"
rm -f go.mod go.sum
go mod init podgate.test/e2e-tools/cosign
go get -tool "github.com/sigstore/cosign/v3/cmd/cosign@$cosign"
go mod tidy
sed -i "1i // podgate-pin: github.com/sigstore/cosign/v3 $cosign\n// Tools module for the image-trust tests: builds cosign. Regenerate with tests/e2e/tools/update-cosign.sh." go.mod

cd "$here/crane"
rm -f go.mod go.sum
go mod init podgate.test/e2e-tools/crane
go get -tool "github.com/google/go-containerregistry/cmd/crane@$crane"
go mod tidy
sed -i "1i // podgate-pin: github.com/google/go-containerregistry $crane\n// Tools module for the image-trust tests: builds crane. Regenerate with tests/e2e/tools/update-cosign.sh." go.mod
echo "update-cosign: pinned cosign $cosign and go-containerregistry $crane"
