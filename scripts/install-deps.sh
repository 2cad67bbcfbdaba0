#!/usr/bin/env bash
# Installs everything podgate needs to build, run and test, from Debian packages only.
# Idempotent: a second run on the same machine is quick (apt skips what is installed).
set -euo pipefail

packages=(
  # toolchain (ccache: rebuilds of unchanged sources, such as CI after a developer's build, are cheap)
  build-essential cmake ninja-build pkg-config git curl ca-certificates ccache
  # libraries (see docs/architecture.md for why each one)
  rapidjson-dev libsimdjson-dev libssl-dev prometheus-cpp-dev catch2
  libboost-dev libboost-system-dev libyaml-cpp-dev libcli11-dev libsqlite3-dev
  # test tools: promtool comes with prometheus; openssl makes test certificates;
  # python3-yaml for the chart checks (Helm itself is built from the Go module proxy);
  # a real registry for the image-rule tests: docker-registry, skopeo to push to it, htpasswd
  # (apache2-utils) for its Basic auth (tests/support/test_registry.h)
  prometheus openssl procps python3 python3-yaml
  # the check report tests validate SARIF and JSON with python3-jsonschema, JUnit with xmllint
  python3-jsonschema libxml2-utils
  docker-registry skopeo apache2-utils
  # the chart's scanner script runs under BusyBox's sh in its image: the chart checks parse it with
  # busybox and shellcheck, and tests/e2e/scanner_cronjob.sh can run it with SCANNER_SHELL="busybox sh"
  busybox shellcheck
  # benchmark tools
  wrk nginx-light
  # fuzzing (scripts/fuzz.sh): libFuzzer needs clang; its runtime is in libclang-rt-14-dev
  clang libclang-rt-14-dev
)

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The prometheus and docker-registry packages enable system services we do not want running;
# tests start their own.
if command -v systemctl >/dev/null 2>&1; then
  for unit in prometheus docker-registry; do $SUDO systemctl disable --now "$unit" 2>/dev/null || true; done
fi
