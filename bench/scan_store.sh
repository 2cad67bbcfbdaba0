#!/usr/bin/env bash
# The scan store benchmark (the hidden "[.bench]" case in tests/unit/scan_store_test.cpp):
# import throughput with 20 findings per record, one record per put (one fsync'd commit each) and
# 100 per put; lookup cost straight from SQLite and through a warm CachedStore (lookup() shares the
# cached vector, get() copies it); and the database size for 100,000 stored scans.
#
# Builds only the test binary, RelWithDebInfo, in BUILD_DIR (default build-bench-scan), -j2.
# The database files go to $TMPDIR: put it on the disk you mean to measure (fsync cost is the disk's).
# Usage: bench/scan_store.sh [SCANS]   (default 100000; PODGATE_BENCH_SINGLE_PUTS caps the 1-per-put run)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build-bench-scan}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$dir" -j 2 --target podgate_unit_scan_store
echo "filesystem of ${TMPDIR:-/tmp}: $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}')"
PODGATE_BENCH_SCANS=${1:-100000} "$dir/tests/podgate_unit_scan_store" "[.bench]"
