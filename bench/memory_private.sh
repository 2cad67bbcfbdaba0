#!/usr/bin/env bash
# Private (anonymous) memory of podgate and the Go peer, idle and after the same 4 KB-Pod load.
# VmRSS also counts the clean, file-backed pages of shared libraries (libcrypto alone is ~4 MiB
# resident in podgate), which the kernel shares between processes and can drop at will; the Go
# peer links its TLS statically, so its RSS is nearly all its own. Pss_Anon (smaps_rollup) is the
# memory each process really owns: heap, stacks, arenas.
# Usage: bench/memory_private.sh [SECONDS=10]   (needs build/podgate and the Go peer that
#        bench/warm_path.sh builds into .cache/bench/podgate-go-peer)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
podgate=${PODGATE_BIN:-$repo/build/podgate}
go_peer=${GO_PEER:-$repo/.cache/bench/podgate-go-peer}
[ -x "$go_peer" ] || { echo "build the Go peer first: bash bench/warm_path.sh (it builds $go_peer)" >&2; exit 1; }
work=$(mktemp -d); pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
bash "$repo/scripts/gen-dev-cert.sh" "$work/tls" >/dev/null
mapfile -t ports < <(python3 -c 'import socket
ss=[socket.socket() for _ in range(3)]
[s.bind(("127.0.0.1",0)) for s in ss]; print("\n".join(str(s.getsockname()[1]) for s in ss))')
"$podgate" serve --listen "127.0.0.1:${ports[0]}" --metrics-listen "127.0.0.1:${ports[1]}" \
  --tls-cert "$work/tls/tls.crt" --tls-key "$work/tls/tls.key" --log-level warn >/dev/null 2>&1 & pids+=($!)
"$go_peer" -listen "127.0.0.1:${ports[2]}" -tls-cert "$work/tls/tls.crt" -tls-key "$work/tls/tls.key" 2>/dev/null & pids+=($!)
sleep 1
row() {  # label pid
  awk -v l="$1" '/^Rss:/{r=$2} /^Pss_Anon:/{a=$2} /^Pss_File:/{f=$2} END{printf "%-26s %9.1f %12.1f %12.1f\n", l, r/1024, a/1024, f/1024}' "/proc/$2/smaps_rollup"
}
printf '%-26s %9s %12s %12s\n' "process" "RSS_MiB" "anon_MiB" "file_MiB"
row "podgate idle" "${pids[0]}"; row "go-peer idle" "${pids[1]}"
for i in 0 1; do
  port=${ports[$((i * 2))]}
  BODY_FILE="$repo/tests/fixtures/reviews/pod-clean-4k.json" wrk -t2 -c32 -d"${secs}s" -s "$repo/bench/wrk/post.lua" \
    "https://127.0.0.1:$port/validate" >/dev/null
done
row "podgate after load" "${pids[0]}"; row "go-peer after load" "${pids[1]}"
