# Sourced by bench/validate.sh and bench/warm_path.sh: the helpers both need, and the nginx
# baseline they measure against, written once.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }

# nginx_location PATH FILE: a location answering every request with the text of FILE (podgate's own
# answer to a review, so nginx sends the same bytes podgate does). PATH "/" matches everything;
# anything else matches exactly. nginx's `return` text: escape backslashes and single quotes (JSON
# from podgate has no '$').
nginx_location() {
  local text
  text=$(cat "$2")
  text=${text//\\/\\\\}
  text=${text//\'/\\\'}
  if [ "$1" = / ]; then
    printf "    location / { default_type application/json; return 200 '%s'; }\n" "$text"
  else
    printf "    location = %s { default_type application/json; return 200 '%s'; }\n" "$1" "$text"
  fi
}

# start_nginx DIR PORT CERT KEY LOCATIONS: writes DIR/nginx.conf (TLS on 127.0.0.1:PORT, one worker
# per core, keep-alive without a request limit) and starts nginx in the background; $! is its pid.
start_nginx() {
  local dir=$1 port=$2 cert=$3 key=$4 locations=$5
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes $(nproc);
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  client_max_body_size 4m;
  client_body_buffer_size 1m;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
$locations  }
}
NGINX
  nginx -c "$dir/nginx.conf" -g 'daemon off;' &
}
