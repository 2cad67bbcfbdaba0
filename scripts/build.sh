#!/usr/bin/env bash
# Configures and builds podgate, with warnings as errors (PODGATE_WERROR, as developers and CI build).
# Usage: scripts/build.sh [default|release|asan|tsan] [TARGET...]
#   default -> build/        (RelWithDebInfo)
#   release -> build-release/ (Release: -O3 finds warnings the other types do not)
#   asan    -> build-asan/   (AddressSanitizer + UndefinedBehaviorSanitizer)
#   tsan    -> build-tsan/   (ThreadSanitizer)
set -euo pipefail
cd "$(dirname "$0")/.."
variant=${1:-default}
shift || true
type=RelWithDebInfo
case "$variant" in
  default) dir=build; sanitize="" ;;
  release) dir=build-release; sanitize=""; type=Release ;;
  asan)    dir=build-asan; sanitize="address,undefined" ;;
  tsan)    dir=build-tsan; sanitize="thread" ;;
  *) echo "usage: $0 [default|release|asan|tsan] [TARGET...]" >&2; exit 2 ;;
esac
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="$type" -DPODGATE_SANITIZE="$sanitize" -DPODGATE_WERROR=ON
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
