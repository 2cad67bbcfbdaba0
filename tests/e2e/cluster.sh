# Sourced (not run): etcd and a kube-apiserver on loopback, as tests/e2e/run.sh starts them, for a
# script that needs a real cluster API and nothing else (bench/imagescans.sh).
#
#   . tests/e2e/cluster.sh
#   cluster_up WORKDIR BINDIR     certificates, etcd, kube-apiserver (RBAC on); waits for /readyz.
#                                 Sets cluster_api_port, cluster_etcd_port, cluster_pki and writes
#                                 WORKDIR/kubeconfig-admin (a system:masters client certificate)
#   cluster_user NAME CN          a client certificate and WORKDIR/kubeconfig-NAME for user CN
#   ck ARGS...                    kubectl as the admin
#   cluster_down                  stops the apiserver and etcd (call it from the caller's EXIT trap)

cluster_pids=()

cluster_up() {
  cluster_work=$1 cluster_bindir=$2
  cluster_pki="$cluster_work/pki"
  mkdir -p "$cluster_pki"
  local ports
  mapfile -t ports < <(python3 "$(dirname "${BASH_SOURCE[0]}")/e2e_tools.py" free-ports 3)
  cluster_etcd_port=${ports[0]} cluster_etcd_peer=${ports[1]} cluster_api_port=${ports[2]}
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=cluster CA" \
    -keyout "$cluster_pki/ca.key" -out "$cluster_pki/ca.crt" 2>/dev/null || return 1
  _cluster_cert apiserver "/CN=kube-apiserver" \
    "$(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth')" || return 1
  openssl genrsa -out "$cluster_pki/sa.key" 2048 2>/dev/null &&
    openssl rsa -in "$cluster_pki/sa.key" -pubout -out "$cluster_pki/sa.pub" 2>/dev/null || return 1
  setpriv --pdeathsig KILL -- "$cluster_bindir/etcd" --name cluster --data-dir "$cluster_work/etcd" \
    --listen-client-urls "http://127.0.0.1:$cluster_etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$cluster_etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$cluster_etcd_peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$cluster_etcd_peer" \
    --initial-cluster "cluster=http://127.0.0.1:$cluster_etcd_peer" --unsafe-no-fsync --log-level warn \
    > "$cluster_work/etcd.log" 2>&1 &
  cluster_pids+=($!)
  python3 "$(dirname "${BASH_SOURCE[0]}")/e2e_tools.py" wait-http "http://127.0.0.1:$cluster_etcd_port/health" 30 ||
    return 1
  setpriv --pdeathsig KILL -- "$cluster_bindir/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$cluster_etcd_port" --bind-address=127.0.0.1 --secure-port="$cluster_api_port" \
    --tls-cert-file="$cluster_pki/apiserver.crt" --tls-private-key-file="$cluster_pki/apiserver.key" \
    --client-ca-file="$cluster_pki/ca.crt" --authorization-mode=RBAC \
    --service-cluster-ip-range=10.0.0.0/24 --service-account-issuer="https://127.0.0.1:$cluster_api_port" \
    --service-account-key-file="$cluster_pki/sa.pub" --service-account-signing-key-file="$cluster_pki/sa.key" \
    --disable-admission-plugins=ServiceAccount > "$cluster_work/kube-apiserver.log" 2>&1 &
  cluster_pids+=($!)
  cluster_user admin "/O=system:masters/CN=cluster-admin" || return 1
  local _
  for _ in $(seq 120); do
    [ "$(ck get --raw /readyz 2>/dev/null)" = ok ] && return 0
    sleep 0.5
  done
  tail -20 "$cluster_work/kube-apiserver.log" >&2
  return 1
}

_cluster_cert() {  # name subject extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
    -keyout "$cluster_pki/$1.key" -out "$cluster_pki/$1.csr" 2>/dev/null &&
  printf '%s\n' "$3" > "$cluster_pki/$1.ext" &&
  openssl x509 -req -in "$cluster_pki/$1.csr" -CA "$cluster_pki/ca.crt" -CAkey "$cluster_pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$cluster_pki/$1.ext" -out "$cluster_pki/$1.crt" 2>/dev/null
}

cluster_user() {  # name subject
  _cluster_cert "$1" "$2" "extendedKeyUsage=clientAuth" || return 1
  cat > "$cluster_work/kubeconfig-$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster: {server: "https://127.0.0.1:$cluster_api_port", certificate-authority: "$cluster_pki/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$cluster_pki/$1.crt", client-key: "$cluster_pki/$1.key"}
contexts:
- name: cluster
  context: {cluster: cluster, user: $1}
current-context: cluster
EOF
}

ck() { "$cluster_bindir/kubectl" --kubeconfig "$cluster_work/kubeconfig-admin" --request-timeout=60s "$@"; }

cluster_down() {
  local pid
  for pid in "${cluster_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${cluster_pids[@]}"; do wait "$pid" 2>/dev/null; done
  cluster_pids=()
}
