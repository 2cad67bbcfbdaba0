# shellcheck shell=bash
# Sourced by every script that runs `go`. podgate_go_env puts a Go >= the tools' required version
# first on PATH: the machine's own when it is new enough, else the toolchain scripts/install-go.sh
# fetches once from the Go module proxy into .cache/go/. GOTOOLCHAIN=local: the go chosen is the go
# that runs (a go.mod's `go` line never makes it fetch another). The module and build caches stay
# Go's defaults ($HOME/go/pkg/mod, $HOME/.cache/go-build), shared with any other Go on the machine.
# Returns non-zero, after install-go.sh's message, when no such Go can be had; callers say what
# that means for them.
podgate_go_env() {
  local out bindir
  out=$(bash "$(dirname "${BASH_SOURCE[0]}")/../install-go.sh") || return 1
  bindir=${out##*$'\n'}
  [ -x "$bindir/go" ] || return 1
  PATH="$bindir:$PATH"
  export PATH GOTOOLCHAIN=local
}
