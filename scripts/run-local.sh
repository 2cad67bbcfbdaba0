#!/usr/bin/env bash
# The README's "run" command: installs dependencies, builds the podgate binary (that target alone:
# the tests and benchmarks are scripts/test.sh's), generates a self-signed certificate for
# localhost and starts `podgate serve` with its embedded defaults.
#   HTTPS webhook: https://localhost:8443/validate   (CA: .run/tls/ca.crt)
#   metrics:       http://localhost:9090/metrics
# Extra arguments go to `podgate serve` (e.g. --config examples/podgate.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh default podgate
bash scripts/gen-dev-cert.sh .run/tls
exec ./build/podgate serve --tls-cert .run/tls/tls.crt --tls-key .run/tls/tls.key "$@"
