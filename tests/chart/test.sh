#!/usr/bin/env bash
# Helm chart checks: builds Helm (scripts/install-helm.sh, cached in .cache/bin), then runs
# tests/chart/checks.py: helm lint --strict, helm template with default and non-default values
# (cert-manager, auditOnly, monitoring, image rules, scan cache, the continuous audit, everything), schema rejections,
# certificate reuse on upgrade, promtool checks of the alerts, the rendered configs in the built
# podgate, and the workflows (actionlint, scripts/install-actionlint.sh, cached in .cache/bin). One
# line per check; the last line is "N passed, M failed".
# Run from anywhere: bash tests/chart/test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

# The checks need PyYAML: the first python3 on PATH may be a pyenv one with or without it, so fall
# back to Debian's python3 with python3-yaml.
python=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
    python=$candidate
    break
  fi
done
need_apt=()
[ -n "$python" ] || need_apt+=(python3 python3-yaml)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# actionlint checks the workflows' run: scripts with shellcheck when it is on PATH.
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "chart tests: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  [ -n "$python" ] || python=/usr/bin/python3
fi

if ! helm=$(bash scripts/install-helm.sh | tail -n 1) || [ ! -x "$helm" ]; then
  echo "FAIL  install helm (scripts/install-helm.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi

# The release workflow runs only on GitHub; actionlint (built like Helm, pinned) checks it here. A
# failed build is reported by the actionlint check rather than stopping the chart checks.
actionlint=$(bash scripts/install-actionlint.sh | tail -n 1) || actionlint=

exec "$python" tests/chart/checks.py --helm "$helm" --actionlint "$actionlint"
