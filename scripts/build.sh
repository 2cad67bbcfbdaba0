#!/usr/bin/env bash
# Configures and builds podgate. Usage: scripts/build.sh [default|asan|tsan]
#   default -> build/        (RelWithDebInfo)
#   asan    -> build-asan/   (AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan    -> build-tsan/   (ThreadSanitizer)
set -euo pipefail
cd "$(dirname "$0")/.."
variant=${1:-default}
case "$variant" in
  default) dir=build; sanitize="" ;;
  asan)    dir=build-asan; sanitize="address,undefined" ;;
  tsan)    dir=build-tsan; sanitize="thread" ;;
  *) echo "usage: $0 [default|asan|tsan]" >&2; exit 2 ;;
esac
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPODGATE_SANITIZE="$sanitize"
fi
cmake --build "$dir" -j "$(nproc)"
