#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang and runs each for a bounded time.
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target ...]   (default: every target)
#
# Each target runs on a copy of its seed corpus (tests/fuzz/corpus/<target>/) in a temp dir, so
# the committed corpus never grows, with its dictionary (tests/fuzz/<target>.dict) when there is
# one. Prints one row per target: executions, exec/s, coverage (cov: edges, ft: features, from
# libFuzzer's final status line) and crashes. A crash input and its log are kept under
# build-fuzz/crashes/<target>/; the script then exits 1.
# Reproduce one: build-fuzz/fuzz_<target> build-fuzz/crashes/<target>/crash-<sha1>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [seconds per target] [target ...]" >&2; exit 2 ;; esac

dir=build-fuzz
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
# -O1 keeps the fuzzers fast and the stacks readable; Debug keeps assert() on; no tests or benchmarks.
cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DPODGATE_FUZZ=ON -DPODGATE_BUILD_TESTS=OFF -DPODGATE_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target podgate_fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in tests/fuzz/*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crashes_dir="$PWD/$dir/crashes"
# ASan's own exit is what libFuzzer reports as the crash; leaks count too. UBSan stops at the first
# finding (the code is also built with -fno-sanitize-recover) and prints where.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rows=()
failed=0
start=$(date +%s)
for t in "${targets[@]}"; do
  bin="$dir/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz: no target $t ($bin)" >&2; exit 2; }
  rm -rf "${crashes_dir:?}/$t"  # findings of an earlier run would pass for this one's
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  [ -d "tests/fuzz/corpus/$t" ] && cp -r "tests/fuzz/corpus/$t/." "$work/$t/corpus/"
  args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$work/$t/artifacts/")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  echo "--- fuzz_$t (${seconds}s)"
  rc=0
  "$bin" "${args[@]}" "$work/$t/corpus" >"$work/$t/log" 2>&1 || rc=$?

  # "#123456 DONE cov: 1234 ft: 5678 corp: ..." (or the last status line before a crash)
  status=$(grep -E '^#[0-9]+.*cov: ' "$work/$t/log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$work/$t/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\)/\1/p' "$work/$t/log" | tail -1)
  found=$(find "$work/$t/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed=1
    mkdir -p "$crashes_dir/$t"
    cp "$work/$t/log" "$crashes_dir/$t/fuzz.log"
    cp "$work/$t/artifacts/"* "$crashes_dir/$t/" 2>/dev/null || true
    [ "$found" -gt 0 ] || found="rc=$rc"
    echo "fuzz_$t: FAILED; input and log in $crashes_dir/$t/"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*invariant failed)' "$work/$t/log" | head -5 || true
  fi
  rows+=("$(printf '%-18s %12s %8s %7s %7s %8s' "$t" "${execs:--}" "${rate:--}" "${cov:--}" "${ft:--}" "$found")")
done

echo
printf '%-18s %12s %8s %7s %7s %8s\n' target executions exec/s cov ft crashes
for row in "${rows[@]}"; do echo "$row"; done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $(( $(date +%s) - start ))s in all"
exit "$failed"
