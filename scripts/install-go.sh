#!/usr/bin/env bash
# Makes a Go toolchain >= the version the test tools need available and prints its bin directory on
# its last line. Helm, kube-apiserver, etcd, cosign and PSA's fixtures come from the Go module proxy
# and their tools modules say `go 1.26.8`; Debian 12's golang-go is 1.19, too old even to fetch a
# newer toolchain itself (GOTOOLCHAIN came with 1.21).
#   1. A `go` on PATH that reports >= $required is used as it is: nothing is downloaded.
#   2. Otherwise the toolchain the Go project publishes on the module proxy as the module
#      golang.org/toolchain (what GOTOOLCHAIN=goX.Y.Z fetches) is downloaded once per machine from
#      $GOPROXY's first proxy (default https://proxy.golang.org), checked against the sha256 pinned
#      below, and unpacked into <repo>/.cache/go/ (ignored by git; 240 MB). Later runs reuse it.
# Scripts do not call this directly: they source scripts/lib/go-env.sh, which puts the directory first
# on PATH and sets GOTOOLCHAIN=local (the go found is the go that runs; it never switches itself).
#
# Usage: scripts/install-go.sh     prints the bin directory (containing `go`) on its last line
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
required=1.26.8   # the tools modules' `go` line (tests/e2e/tools/*/go.mod)
version=1.26.8    # the toolchain fetched when the machine has none
# sha256 of the module zips golang.org/toolchain@v0.0.1-go$version.linux-<arch>.zip, as served by the
# proxy (the amd64 one checked against the Go checksum database by `go mod download`). A new version
# needs new sums: sha256sum the zips that `go mod download -json golang.org/toolchain@<v>` leaves.
declare -A sums=(
  [amd64]=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
  [arm64]=02b36b6787b3ac767668f630e2998df45a3b1f9ffee08d1bf3ef6487cd658d99
)

# "go version go1.26.8 linux/amd64" -> 0 when that go is at least $required.
new_enough() {
  local out v
  out=$(GOTOOLCHAIN=local "$1" version 2>/dev/null) || return 1
  v=$(sed -n 's/^go version go\([0-9][0-9.]*\)[^ ]* .*/\1/p' <<<"$out")
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n%s\n' "$required" "$v" | sort -V | head -1)" = "$required" ]
}

if go=$(command -v go) && new_enough "$go"; then
  echo "install-go: using $go ($(GOTOOLCHAIN=local "$go" version | cut -d' ' -f3))" >&2
  dirname "$go"; exit 0
fi

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "install-go: no pinned Go toolchain for $(uname -m); install Go >= $required and put it on PATH" >&2; exit 1 ;;
esac
[ "$(uname -s)" = Linux ] || { echo "install-go: install Go >= $required and put it on PATH" >&2; exit 1; }
mod="v0.0.1-go$version.linux-$arch"
cache="$repo/.cache/go"
bindir="$cache/golang.org/toolchain@$mod/bin"

why="no go on PATH"
[ -z "${go:-}" ] || why="$go is $(GOTOOLCHAIN=local "$go" version 2>/dev/null | cut -d' ' -f3 || echo unknown)"
if new_enough "$bindir/go"; then
  echo "install-go: $why; using go$version from .cache/go" >&2
  echo "$bindir"; exit 0
fi

# The first proxy of GOPROXY's list (entries separated by , or |); "direct" and "off" serve no
# toolchain module, so they are skipped.
proxy=
IFS=',|' read -ra entries <<<"${GOPROXY:-https://proxy.golang.org}"
for e in "${entries[@]}"; do
  case "$e" in direct|off|"") ;; *) proxy=${e%/}; break ;; esac
done
[ -n "$proxy" ] || { echo "install-go: $why, and GOPROXY=${GOPROXY:-} names no proxy to fetch Go $version from; install Go >= $required and put it on PATH" >&2; exit 1; }

mkdir -p "$cache"
# Two runs starting at once must not unpack into the same place.
exec 9>"$cache/.lock"
flock 9
if new_enough "$bindir/go"; then echo "$bindir"; exit 0; fi

url="$proxy/golang.org/toolchain/@v/$mod.zip"
echo "install-go: $why; fetching Go $version ($url) into $cache" >&2
start=$(date +%s)
scratch=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
curl -fsSL --retry 3 -o "$scratch/go.zip" "$url" || {
  echo "install-go: could not download $url; install Go >= $required and put it on PATH" >&2; exit 1; }
got=$(sha256sum "$scratch/go.zip" | cut -d' ' -f1)
if [ "$got" != "${sums[$arch]}" ]; then
  echo "install-go: $url has sha256 $got, but ${sums[$arch]} is pinned in scripts/install-go.sh: not using it" >&2
  exit 1
fi
# Python's zipfile, not unzip (not on every Debian install). It drops the mode bits, and older
# toolchain zips carry none anyway, so bin/ and pkg/tool/ are made executable as cmd/go does.
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$scratch/go.zip" "$scratch/x"
root="$scratch/x/golang.org/toolchain@$mod"
chmod -R a+x "$root/bin" "$root/pkg/tool"
new_enough "$root/bin/go" || { echo "install-go: the unpacked $root/bin/go does not run as Go $version" >&2; exit 1; }
mkdir -p "$cache/golang.org"
rm -rf "$cache/golang.org/toolchain@$mod"
mv "$root" "$cache/golang.org/"
echo "install-go: Go $version ready in $(( $(date +%s) - start ))s" >&2
echo "$bindir"
