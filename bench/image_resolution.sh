#!/usr/bin/env bash
# Image resolution through `podgate serve` against a real registry on loopback (Debian's
# docker-registry over TLS, the test fixture): cold (uncached tag: HEAD at the registry) and warm
# (digest cached) review latency, a pod with 8 uncached images against one, and a baseline request
# straight to the registry in the same run.
#
# Runs twice: against the registry on loopback, and through bench/delay_proxy.py, which adds
# DELAY_MS to every response chunk (a registry across a network, where parallel resolution shows).
#
# Usage: bench/image_resolution.sh [REPS] [DELAY_MS]   (defaults 20 and 20; warm cases run 10x REPS)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/tests/podgate_integration_image_resolution ] || bash scripts/build.sh default
reps=${1:-20}
delay=${2:-20}
PODGATE_BENCH_REPS=$reps ./build/tests/podgate_integration_image_resolution "[.bench]" | sed -n '/^registry:/,/^ratio cold 1/p'
echo
PODGATE_BENCH_REPS=$reps PODGATE_BENCH_DELAY_MS=$delay ./build/tests/podgate_integration_image_resolution "[.bench]" |
  sed -n '/^registry:/,/^ratio cold 1/p'
