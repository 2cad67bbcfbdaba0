# Sourced (not run) by tests/e2e/run.sh, tests/e2e/kube_client.sh and bench/imagescans.sh: the
# processes they start, and etcd with a kube-apiserver on loopback, set up one way.
#
#   start NAME LOGFILE COMMAND...   runs COMMAND in the background (appending to LOGFILE); its pid
#                                   is pids[NAME], and the kernel kills it if the script dies
#   stop_process NAME               TERM, then KILL after 10 s
#   stop_all [NAME...]              those first, in order, then every other process started
#   cluster_init WORK BINDIR        pki (WORK/pki: cluster-ca, the apiserver's certificate, the
#                                   service-account key), the admin (system:masters) and its
#                                   kubeconfig, free ports: sets pki, etcd_port, etcd_peer_port,
#                                   api_port, cluster_bindir
#   new_ca NAME CN / new_cert NAME CA SUBJECT EXTENSIONS / kubeconfig_for NAME
#                                   more CAs, certificates (in $pki) and client-certificate kubeconfigs
#                                   (WORK/kubeconfig-NAME, for a certificate signed by cluster-ca)
#   k ARGS...                       kubectl as the admin
#   start_etcd                      starts etcd (no fsync, a temp data directory) and waits for it
#   start_apiserver                 starts kube-apiserver with RBAC, the flags every suite needs and
#                                   those in the array apiserver_extra_args; waits for /readyz
#                                   (false when it does not get ready); again after a stop_process

declare -A pids=()
apiserver_extra_args=()

start() {
  local name=$1 logfile=$2; shift 2
  # setpriv: the kernel kills the child if this script dies without running its trap (SIGKILL).
  setpriv --pdeathsig KILL -- "$@" >>"$logfile" 2>&1 &
  pids[$name]=$!
}

stop_process() {
  local name=$1 pid=${pids[$1]:-}
  [ -n "$pid" ] || return 0
  # "|| true": a process that is already gone is what we want (and callers may run under set -e).
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  unset "pids[$name]"
}

stop_all() {
  local name
  for name in "$@"; do stop_process "$name"; done
  for name in "${!pids[@]}"; do stop_process "$name"; done
}

new_ca() {  # name CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.crt" 2>/dev/null
}

new_cert() {  # name CA subject extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$3" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null &&
  printf '%s\n' "$4" > "$pki/$1.ext" &&
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.crt" -CAkey "$pki/$2.key" -CAcreateserial \
    -days 2 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}

kubeconfig_for() {  # user: a kubeconfig for the client certificate $pki/<user>.crt
  cat > "$cluster_work/kubeconfig-$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/cluster-ca.crt"}
users:
- name: $1
  user: {client-certificate: "$pki/$1.crt", client-key: "$pki/$1.key"}
contexts:
- name: e2e
  context: {cluster: e2e, user: $1}
current-context: e2e
EOF
}

k() { "$cluster_bindir/kubectl" --kubeconfig "$cluster_work/kubeconfig-admin" --request-timeout=30s "$@"; }

cluster_init() {  # work bindir
  cluster_work=$1 cluster_bindir=$2
  pki="$cluster_work/pki"
  mkdir -p "$pki"
  local ports
  mapfile -t ports < <(python3 "$(dirname "${BASH_SOURCE[0]}")/e2e_tools.py" free-ports 3)
  etcd_port=${ports[0]} etcd_peer_port=${ports[1]} api_port=${ports[2]}
  new_ca cluster-ca "podgate-e2e cluster CA" &&
  new_cert apiserver cluster-ca "/CN=kube-apiserver" \
    "$(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth')" &&
  new_cert admin cluster-ca "/O=system:masters/CN=e2e-admin" "extendedKeyUsage=clientAuth" &&
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null &&
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null &&
  kubeconfig_for admin
}

start_etcd() {
  start etcd "$cluster_work/etcd.log" "$cluster_bindir/etcd" --name e2e --data-dir "$cluster_work/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "e2e=http://127.0.0.1:$etcd_peer_port" --unsafe-no-fsync --log-level warn
  python3 "$(dirname "${BASH_SOURCE[0]}")/e2e_tools.py" wait-http "http://127.0.0.1:$etcd_port/health" 30 ||
    { tail -20 "$cluster_work/etcd.log" >&2; return 1; }
}

start_apiserver() {
  echo "---- start $(date -Is)" >> "$cluster_work/kube-apiserver.log"
  start kube-apiserver "$cluster_work/kube-apiserver.log" "$cluster_bindir/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$etcd_port" --bind-address=127.0.0.1 --secure-port="$api_port" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/cluster-ca.crt" --authorization-mode=RBAC \
    --service-cluster-ip-range=10.0.0.0/24 --service-account-issuer="https://127.0.0.1:$api_port" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --disable-admission-plugins=ServiceAccount --allow-privileged=true "${apiserver_extra_args[@]}"
  for _ in $(seq 240); do
    [ "$(k get --raw /readyz 2>/dev/null)" = ok ] && return 0
    kill -0 "${pids[kube-apiserver]}" 2>/dev/null || break
    sleep 0.25
  done
  tail -30 "$cluster_work/kube-apiserver.log" >&2
  return 1
}
