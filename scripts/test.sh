#!/usr/bin/env bash
# The README's "test" command: installs dependencies, builds, and runs every test:
#   1. the normal build, then the Release build (-O3, -Werror) of podgate and the unit tests, built
#      not run (-O3 finds warnings the other types do not); the image-trust test tools (cosign,
#      crane, a referrers-API registry: tests/e2e/build-cosign.sh, built once per machine from the Go
#      module proxy into .cache/cosign/, exported as PODGATE_COSIGN_BIN etc. for every later step);
#      PSA's test fixtures (tests/conformance/psa-fixtures.sh: k8s.io/pod-security-admission from the
#      Go module proxy into Go's module cache, once per machine, exported as PODGATE_PSA_FIXTURES);
#      all unit, integration and conformance tests (ctest)
#      of the normal build, then the Helm chart checks, then a
#      real Prometheus scraping podgate under load (every dashboard query must return data), then
#      the end-to-end suite against a real kube-apiserver (tests/e2e/run.sh; its tools are built
#      once per machine from the Go module proxy into .cache/e2e/), then lib/kube's client and
#      reflector against the same kind of apiserver (tests/e2e/kube_client.sh)
#   2. ASan+UBSan build: all unit and integration tests again, and tests/e2e/kube_client.sh with
#      that build's binary (lib/kube, lib/http's streams and the shared scan store have threads
#      only a live apiserver exercises)
#   3. TSan build: the concurrency tests (Catch2 tag [concurrency]), and kube_client.sh again
#   4. clang build of the libFuzzer targets (tests/fuzz/), each run for 30 s (scripts/fuzz.sh)
# Go (>= 1.26.8) is the machine's when new enough, else fetched once into .cache/go/
# (scripts/install-go.sh, through scripts/lib/go-env.sh in each tool script).
#
# PODGATE_TEST_QUICK=1: the C++ suite only, for a developer's edit-test loop: dependencies, the
# normal build, ctest (unit, integration, conformance). No Release build, no chart, Prometheus or
# end-to-end tests, no sanitizer or fuzz passes, and nothing heavy built from Go: the cosign tools
# are used when .cache/cosign/ already has them, else the cosign tests skip (said below and in
# ctest's WARN); PSA's fixtures are downloaded as in the full run (about a second; the Go toolchain
# too when the machine has none), and if that fails the conformance suite skips with a WARN.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/install-deps.sh
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

section() { echo; echo "=== $* ($(( $(date +%s) - start ))s) ==="; }
quick=${PODGATE_TEST_QUICK:-0}

section "build (RelWithDebInfo)"
bash scripts/build.sh default
if [ "$quick" != 1 ]; then
  # Built, not run: what it adds is g++'s -O3 warnings as errors. podgate and the unit tests only
  # (the integration tests and benchmarks compile the same library code): see README's CI time.
  section "build (Release, -Werror: podgate and the unit tests)"
  bash scripts/build.sh release podgate podgate_unit_tests
fi
# The cosign integration tests skip (with a WARN) only when these are unset, as for a developer
# without Go running ctest alone; in the full run they are always set, and a failed build stops the
# run. The quick run uses tools already built and never starts the minutes-long cold build.
section "image-trust test tools (cosign, crane)"
if [ "$quick" != 1 ]; then
  cosign_dir=$(bash tests/e2e/build-cosign.sh | tail -1)
elif ! cosign_dir=$(bash tests/e2e/build-cosign.sh --no-build | tail -1); then
  cosign_dir=
  echo "test: QUICK: the cosign tools are not built, so ctest SKIPS the cosign integration tests" \
       "(tests/e2e/build-cosign.sh builds them once, minutes cold; the full run does)" >&2
fi
if [ -n "$cosign_dir" ]; then
  export PODGATE_COSIGN_BIN="$cosign_dir/cosign" PODGATE_CRANE_BIN="$cosign_dir/crane" \
    PODGATE_REFERRERS_REGISTRY_BIN="$cosign_dir/referrers-registry"
fi
# The Pod Security conformance suite (tests/conformance/) skips only when this is unset; in the
# full run it is always set (every ctest pass below runs it), and a failed download stops the run.
section "Pod Security Admission fixtures (the conformance suite's specification)"
if [ "$quick" != 1 ]; then
  psa_dir=$(bash tests/conformance/psa-fixtures.sh | tail -1)
elif ! psa_dir=$(bash tests/conformance/psa-fixtures.sh | tail -1); then
  psa_dir=
  echo "test: QUICK: PSA's fixtures could not be had (above), so ctest SKIPS the Pod Security conformance suite" >&2
fi
[ -z "$psa_dir" ] || export PODGATE_PSA_FIXTURES="$psa_dir"
section "tests (RelWithDebInfo)"
ctest --test-dir build --output-on-failure -j 2 --timeout 300 | tee "$logs/ctest.log"
if [ "$quick" != 1 ]; then
  section "Helm chart checks"
  bash tests/chart/test.sh | tee "$logs/chart.log"
  section "Prometheus scrape test (dashboard queries against a real Prometheus)"
  bash tests/prometheus/scrape_test.sh | tee "$logs/prometheus.log"
  section "end-to-end (kube-apiserver, etcd, kubectl, podgate)"
  bash tests/e2e/run.sh | tee "$logs/e2e.log"
  section "end-to-end: lib/kube against kube-apiserver (paging, watch, bookmarks, 410, 401, 409, 429, an outage)"
  bash tests/e2e/kube_client.sh | tee "$logs/e2e-kube.log"

  section "build (ASan+UBSan)"
  bash scripts/build.sh asan
  section "tests (ASan+UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j 2 --timeout 600 | tee "$logs/ctest-asan.log"
  section "end-to-end: lib/kube under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    PODGATE_E2E_KUBE_CLIENT_BIN="$PWD/build-asan/tests/podgate_e2e_kube_client" \
    bash tests/e2e/kube_client.sh | tee "$logs/e2e-kube-asan.log"

  section "build (TSan)"
  bash scripts/build.sh tsan
  section "concurrency tests (TSan)"
  # ctest names do not carry Catch2 tags, so run each binary with the [concurrency] filter.
  for bin in build-tsan/tests/podgate_unit_* build-tsan/tests/podgate_integration_*; do
    [ -x "$bin" ] || continue
    # Catch2 v2 exits with the number of listed tests, hence the || true.
    names=$("$bin" --list-test-names-only "[concurrency]" 2>/dev/null || true)
    [ -n "$names" ] || continue
    echo "--- $bin [concurrency]"
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
      "$bin" "[concurrency]" | tee -a "$logs/tsan.log"
  done
  section "end-to-end: lib/kube under TSan"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/tsan.supp" \
    PODGATE_E2E_KUBE_CLIENT_BIN="$PWD/build-tsan/tests/podgate_e2e_kube_client" \
    bash tests/e2e/kube_client.sh | tee "$logs/e2e-kube-tsan.log"

  section "fuzzing (libFuzzer + ASan + UBSan, 30 s per target)"
  bash scripts/fuzz.sh 30
fi
section "all tests passed"
# One closing line over every pass that ran (the quick run has only ctest's): ctest's "out of N",
# the chart's "N passed", Catch2's "in N test cases".
total=0
# last_count FILE SED-SCRIPT: the last number the script prints from FILE, 0 when the pass did not run.
last_count() { local n=""; [ ! -f "$1" ] || n=$(sed -n "$2" "$1" | tail -1); echo "${n:-0}"; }
for f in "$logs"/ctest*.log; do
  total=$((total + $(last_count "$f" 's/.*tests failed out of \([0-9][0-9]*\).*/\1/p')))
done
for f in chart prometheus; do
  total=$((total + $(last_count "$logs/$f.log" 's/^\([0-9][0-9]*\) passed, 0 failed.*/\1/p')))
done
total=$((total + $(last_count "$logs/e2e.log" 's/^e2e: \([0-9][0-9]*\) passed, 0 failed.*/\1/p')))
for f in "$logs"/e2e-kube*.log; do
  total=$((total + $(last_count "$f" 's/^e2e-kube: \([0-9][0-9]*\) passed, 0 failed.*/\1/p')))
done
if [ -f "$logs/tsan.log" ]; then
  n=$(sed -n 's/.* in \([0-9][0-9]*\) test cases\{0,1\})$/\1/p' "$logs/tsan.log" | awk '{s+=$1} END {print s+0}')
  total=$((total + n))
fi
echo "tests: $total passed, 0 failed"
