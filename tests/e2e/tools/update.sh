#!/usr/bin/env bash
# Regenerates the e2e tools modules (go.mod/go.sum) for the pinned versions. Run it by hand when
# bumping a version; build-tools.sh only reads the committed files.
# Usage: tests/e2e/tools/update.sh <kubernetes version, e.g. v1.34.4> <etcd version, e.g. v3.6.16>
set -euo pipefail
kube=${1:?kubernetes version}; etcd=${2:?etcd version}
here=$(cd "$(dirname "$0")" && pwd)
# The same Go as the build scripts: the machine's when new enough, else .cache/go/'s.
# shellcheck source=scripts/lib/go-env.sh
. "$here/../../../scripts/lib/go-env.sh"
podgate_go_env

cd "$here/kube"
rm -f go.mod go.sum
go mod init podgate.test/e2e-tools/kube
# Kubernetes 1.34 sets this in its own go.mod, and a dependency's godebug is ignored.
go mod edit -godebug=default=go1.24
# k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces, which do not apply to
# a consumer; replace each with the published k8s.io/X v0.<minor>.<patch>. The list comes from that
# version's go.mod because it changes between releases.
gomod=$(go mod download -json "k8s.io/kubernetes@$kube" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
for m in $(grep -E '^[[:space:]]*k8s.io/[a-z0-9-]+ => ./staging' "$gomod" | awk '{print $1}'); do
  go mod edit -replace="$m=$m@v0.${kube#v1.}"
done
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$kube" "k8s.io/kubernetes/cmd/kubectl@$kube"
go mod tidy
sed -i "1i // podgate-pin: k8s.io/kubernetes $kube\n// Tools module for the e2e suite: builds kube-apiserver and kubectl. Regenerate with\n// tests/e2e/tools/update.sh (it derives the staging replaces from kubernetes' own go.mod)." go.mod

cd "$here/etcd"
rm -f go.mod go.sum
go mod init podgate.test/e2e-tools/etcd
go get -tool "go.etcd.io/etcd/server/v3@$etcd"
go mod tidy
sed -i "1i // podgate-pin: go.etcd.io/etcd/server/v3 $etcd\n// Tools module for the e2e suite: builds etcd (go install fails on etcd's replace lines)." go.mod
echo "update: pinned kubernetes $kube and etcd $etcd"
