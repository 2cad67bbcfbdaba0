#!/usr/bin/env bash
# A real Prometheus scrape of a running podgate: proves the Grafana dashboard's panels return data
# and the alert expressions evaluate, against Debian's prometheus on loopback (see scrape_test.py).
# One line per query; the last line is "N passed, M failed"; exit 1 if anything failed.
#   bash tests/prometheus/scrape_test.sh
# Env: PODGATE_BIN (default build/podgate), PODGATE_HELM (default: scripts/install-helm.sh's helm).
set -euo pipefail
cd "$(dirname "$0")/../.."

# The same interpreter choice as tests/chart/test.sh: a python3 that has PyYAML (to read the
# PrometheusRule helm renders), else Debian's.
python=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "FAIL  python3 with PyYAML (Debian package python3-yaml; scripts/install-deps.sh installs it)"
  echo "0 passed, 1 failed"
  exit 1
fi

exec "$python" tests/prometheus/scrape_test.py "$@"
