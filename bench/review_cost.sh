#!/usr/bin/env bash
# Per-review cost (issue 7): decode + evaluate + encode of each AdmissionReview fixture through
# server::Router::handle_async, the server's entry point for a POST /validate body (it calls
# policy::Reviewer::review_async), with the embedded defaults (image and scan rules off), metrics,
# and a logger (to /dev/null) as in `podgate serve`. TLS and HTTP parsing are not included.
#
#   1. ns per review: Catch2 BENCHMARK (bench/review_cost.cpp), the whole review and each phase;
#      the mean with its 95% bootstrap interval. Wall time: only meaningful on a quiet machine.
#   2. instructions per review: `valgrind --tool=callgrind` on N reviews and on 1 review of each
#      fixture; (Ir(N) - Ir(1)) / (N - 1) leaves out start-up and first-use costs. Stable on a
#      busy machine. "in_router" is callgrind's inclusive count of Router::handle_async alone
#      (without the loop's copy of the body, which valgrind counts byte by byte: rep movsb).
#   3. the top cost centres (self cost, callgrind_annotate) for the 4 KB Pod and the largest fixture.
#
# Usage: bench/review_cost.sh [timing|callgrind|all]      (default all)
# Env:   BUILD_DIR (default build-bench; RelWithDebInfo, configured if missing, built with -j2)
#        PODGATE_BENCH_FIXTURES  fixture names in tests/fixtures/reviews/ or paths, space-separated
#        PODGATE_BENCH_SAMPLES   Catch2 samples per benchmark (default 100)
#        PODGATE_BENCH_IR_BUDGET instructions to spend per fixture under callgrind (default 4e8;
#                                N = budget / (bytes * 25), clamped to 20..2000)
#        PODGATE_BENCH_POD_SECURITY  rules.podSecurity.level for the run (baseline, restricted; default off)
#        OUT_DIR                 where the callgrind files stay (default a temp dir, removed)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
dir=${BUILD_DIR:-build-bench}
# The list: add a fixture here (or pass PODGATE_BENCH_FIXTURES); missing ones are skipped, said so.
default_fixtures="pod-clean-4k.json pod-privileged.json deployment-clean-30k.json pod-clean-200k.json"
read -r -a names <<<"${PODGATE_BENCH_FIXTURES:-$default_fixtures}"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$dir" -j 2 --target podgate_bench_review_cost >/dev/null
bin="$dir/bench/podgate_bench_review_cost"

fixtures=()
for name in "${names[@]}"; do
  path=$name
  [[ $path == */* ]] || path=tests/fixtures/reviews/$name
  if [ -f "$path" ]; then fixtures+=("$path"); else echo "skipped (not found): $path" >&2; fi
done
[ ${#fixtures[@]} -gt 0 ] || { echo "no fixtures" >&2; exit 2; }

out=${OUT_DIR:-}
if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $bin"

if [ "$mode" = all ] || [ "$mode" = timing ]; then
  args=()
  for f in "${fixtures[@]}"; do args+=(--fixture "$f"); done
  "$bin" "${args[@]}" --benchmark-samples "${PODGATE_BENCH_SAMPLES:-100}" --benchmark-resamples 20000 \
    -r xml -o "$out/timing.xml" >"$out/timing.txt"
  echo
  echo "ns per review (Catch2 BENCHMARK, mean and 95% CI; body copy outside the timed region)"
  python3 - "$out/timing.xml" "$out/timing.txt" <<'EOF'
import sys, xml.etree.ElementTree as ET
info = {}
for line in open(sys.argv[2]):
    if line.startswith("fixture "):
        name, rest = line[len("fixture "):].split(": ", 1)
        info[name] = rest.strip()
print(f"{'benchmark':<44} {'mean_ns':>11} {'low_ns':>11} {'high_ns':>11} {'stddev_ns':>10} {'samples':>7}")
for b in ET.parse(sys.argv[1]).getroot().iter("BenchmarkResults"):
    m, sd = b.find("mean"), b.find("standardDeviation")
    print(f"{b.get('name'):<44} {float(m.get('value')):>11.0f} {float(m.get('lowerBound')):>11.0f} "
          f"{float(m.get('upperBound')):>11.0f} {float(sd.get('value')):>10.0f} {b.get('samples'):>7}")
for name, rest in info.items():
    print(f"  {name}: {rest}")
review = [b for b in ET.parse(sys.argv[1]).getroot().iter("BenchmarkResults") if b.get("name") == "review pod-clean-4k.json"]
if review:
    ns = float(review[0].find("mean").get("value"))
    print(f"goal: 4 KB Pod under 20000 ns per review: {ns:.0f} ns, {'met' if ns < 20000 else 'MISSED'}")
EOF
fi

if [ "$mode" = all ] || [ "$mode" = callgrind ]; then
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
  # runs_of NAME: the N of the N-review run kept in $out.
  runs_of() { ls "$out/$1".*.out | sed -E 's/.*\.([0-9]+)\.out$/\1/' | sort -n | tail -1; }
  # inclusive FILE N: "part Ir-per-call" lines for the review's parts, from callgrind_annotate's
  # function listing (it ends where the annotated sources begin). A function can be listed under
  # several files (inlined parts, absolute and relative paths): its inclusive cost is the largest.
  inclusive() {
    callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | python3 -c '
import re, sys
n = int(sys.argv[1])
cost = {}
listing = True
for line in sys.stdin:  # read to the end: callgrind_annotate must not die of SIGPIPE
    listing = listing and not line.startswith("-- Auto-annotated source")
    if not listing:
        continue
    m = re.match(r"^ *([0-9,]+) +\([ 0-9.]+%\) +\S+?:(.*?)( \[[^]]*\])?$", line.rstrip())
    if m:
        cost[m.group(2)] = max(cost.get(m.group(2), 0), int(m.group(1).replace(",", "")))
def one(pattern):
    return max([c for f, c in cost.items() if re.search(pattern, f)] or [0])
parts = {
    "handle_async": one(r"^podgate::server::Router::handle_async\("),
    "review_async": one(r"^podgate::policy::Reviewer::review_async\("),
    "decode": one(r"^podgate::admission::decode\("),
    "judge": one(r"^podgate::policy::Reviewer::judge\("),
    "evaluate": one(r"^podgate::policy::Evaluator::evaluate\(.*Facts const"),
    "encode": one(r"^podgate::admission::encode"),
    "metrics": sum(c for f, c in cost.items() if re.match(r"podgate::metrics::Metrics::\w+\(", f)),
}
for part, c in parts.items():
    print(part, c // n)
' "$2"
  }
  budget=${PODGATE_BENCH_IR_BUDGET:-400000000}
  echo
  echo "instructions per review (valgrind --tool=callgrind, (Ir(N) - Ir(1)) / (N - 1))"
  printf '%-34s %8s %6s %14s %14s %12s %10s\n' fixture bytes N "Ir(N)" "Ir(1)" Ir/review "in_router"
  largest="" largest_size=0
  for f in "${fixtures[@]}"; do
    name=$(basename "$f" .json)
    size=$(stat -c %s "$f")
    if [ "$size" -gt "$largest_size" ]; then largest=$name largest_size=$size; fi
    n=$(( budget / (size * 25) ))
    [ "$n" -lt 20 ] && n=20
    [ "$n" -gt 2000 ] && n=2000
    for count in 1 "$n"; do
      valgrind --tool=callgrind --callgrind-out-file="$out/$name.$count.out" "$bin" --repeat "$count" "$f" \
        >"$out/$name.$count.txt" 2>"$out/$name.$count.log"
    done
    irn=$(awk '/^summary:/ {print $2}' "$out/$name.$n.out")
    ir1=$(awk '/^summary:/ {print $2}' "$out/$name.1.out")
    # Inclusive count of Router::handle_async per call (N calls in the N-run).
    inrev=$(inclusive "$out/$name.$n.out" "$n" | awk '$1 == "handle_async" {print $2}')
    printf '%-34s %8d %6d %14d %14d %12d %10s\n' "$name" "$size" "$n" "$irn" "$ir1" $(( (irn - ir1) / (n - 1) )) "${inrev:--}"
  done
  echo
  echo "where a review's instructions go (callgrind inclusive Ir per review, from the N-review runs)"
  printf '%-28s %12s %12s %10s %10s %10s %10s %10s %10s\n' fixture handle_async review_async decode judge evaluate \
    encode metrics other
  for f in "${fixtures[@]}"; do
    name=$(basename "$f" .json)
    n=$(runs_of "$name")
    inclusive "$out/$name.$n.out" "$n" | awk -v name="$name" '{v[$1] = $2}
      END {printf "%-28s %12d %12d %10d %10d %10d %10d %10d %10d\n", name, v["handle_async"], v["review_async"],
           v["decode"], v["judge"], v["evaluate"], v["encode"], v["metrics"],
           v["handle_async"] - v["decode"] - v["evaluate"] - v["encode"] - v["metrics"]}'
  done
  echo "(handle_async: the whole; judge: evaluate + encode + review metrics + a deny's log line; metrics: every"
  echo " Metrics call, the HTTP counter included; other: handle_async less decode, evaluate, encode and metrics)"
  for name in pod-clean-4k "$largest"; do
    [ -f "$out/$name.1.out" ] || continue
    n=$(runs_of "$name")
    echo
    echo "top cost centres, $name: self instructions of the $n-review run / $n (start-up is ~1 review's worth in it)"
    # Template arguments and parameter lists collapsed to <> and (), the binary's name dropped.
    callgrind_annotate --inclusive=no --threshold=100 "$out/$name.$n.out" 2>/dev/null |
      python3 -c '
import re, sys
top, n = int(sys.argv[1]), int(sys.argv[2])
rows = [l for l in sys.stdin if re.match(r"^ *[0-9,]+ +\(", l) and "PROGRAM TOTALS" not in l]
for line in rows[:top]:
    m = re.match(r"^ *([0-9,]+) +\( *([0-9.]+)%\) +(.*?)( \[[^]]*\])?$", line.rstrip())
    ir, pct, where = int(m.group(1).replace(",", "")), m.group(2), m.group(3)
    where = where.replace("(anonymous namespace)", "{anon}").replace("operator()", "operator{call}")
    out, depth = "", 0
    for ch in where:  # keep only depth-0 text and the outermost brackets
        if ch in "<(":
            out += ch if depth == 0 else ""
            depth += 1
        elif ch in ">)" and depth > 0:
            depth -= 1
            out += ch if depth == 0 else ""
        elif depth == 0:
            out += ch
    where = out
    print(f"{ir // n:>10} Ir/review {pct:>6}%  {where[:150]}")
' "${TOP:-5}" "$n" || true
  done
  echo
  echo "callgrind files: $out (set OUT_DIR to keep them)"
fi
