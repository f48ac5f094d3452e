#!/usr/bin/env bash
# bench_tls.sh: the HTTPS scenarios of bench.sh (SCENARIOS="12 13 14 15"), also runnable alone.
# Every server gets the same self-signed ECDSA P-256 certificate; servers are pinned to
# SERVER_CPU and clients to CLIENT_CPU, one server at a time, on loopback only.
#   12  HTTPS 1 KiB keep-alive, 64 connections: requests/s and server CPU per request
#       (tinyhttpd, nginx with ssl_session_cache, lighttpd with mod_openssl)
#   13  HTTPS 1 MiB keep-alive, 16 connections: MB/s (tinyhttpd, nginx)
#   14  HTTPS new connection per request: handshakes/s, full and resumed (openssl s_time
#       -new / -reuse; tinyhttpd, nginx)
#   15  idle TLS keep-alive connections: server bytes per connection (tinyhttpd, nginx)
set -euo pipefail
LOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LOAD_DIR/.." && pwd)
SCENARIOS=${SCENARIOS:-"12 13 14 15"}
DURATION=${DURATION:-5s}
SECONDS_S_TIME=${SECONDS_S_TIME:-5}
IDLE_TLS_CONNS=${IDLE_TLS_CONNS:-2000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PORT=${TLS_PORT:-18443}
TINY="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release/tinyhttpd"
(cd "$REPO_ROOT" && cargo build --release -q)
W=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$W/key.pem" -out "$W/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
# nginx's and lighttpd's workers may run as another user: everything must be readable.
chmod 755 "$W"
mkdir -p "$W/root"
head -c 1024 /dev/urandom > "$W/root/1k.bin"
head -c 1048576 /dev/urandom > "$W/root/1m.bin"
echo ok > "$W/root/index.html"
chmod -R a+rX "$W/root" "$W/cert.pem" "$W/key.pem"

start() { # $1: tinyhttpd | nginx | lighttpd; sets SERVER_PIDS
  case $1 in
    tinyhttpd)
      taskset -c "$SERVER_CPU" "$TINY" "$W/root" --bind 127.0.0.1 --port "$PORT" --no-compress \
        --keepalive-timeout 600 --tls-cert "$W/cert.pem" --tls-key "$W/key.pem" > "$W/tiny.out" 2>&1 &
      PIDS+=($!) ;;
    nginx)
      cat > "$W/nginx.conf" <<NG
worker_processes 1; daemon off; pid $W/nginx.pid; error_log $W/nginx.err;
events { worker_connections 65000; }
http { access_log off; sendfile on; keepalive_timeout 600; keepalive_requests 10000000;
  ssl_session_cache shared:SSL:10m; ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 127.0.0.1:$PORT ssl; ssl_certificate $W/cert.pem;
    ssl_certificate_key $W/key.pem; root $W/root; } }
NG
      taskset -c "$SERVER_CPU" nginx -c "$W/nginx.conf" &
      PIDS+=($!) ;;
    lighttpd)
      cat > "$W/lighttpd.conf" <<LG
server.document-root = "$W/root"
server.bind = "127.0.0.1"
server.port = $PORT
server.modules = ("mod_openssl")
ssl.engine = "enable"
ssl.pemfile = "$W/cert.pem"
ssl.privkey = "$W/key.pem"
server.max-keep-alive-requests = 10000000
server.max-keep-alive-idle = 600
server.max-fds = 65000
LG
      taskset -c "$SERVER_CPU" lighttpd -D -f "$W/lighttpd.conf" &
      PIDS+=($!) ;;
  esac
  for _ in $(seq 100); do
    curl -skf "https://127.0.0.1:$PORT/index.html" > /dev/null 2>&1 && break
    sleep 0.05
  done
  SERVER_PIDS="${PIDS[-1]} $( (pgrep -P "${PIDS[-1]}" || true) | tr "\n" " ")"
}
stop() { kill "${PIDS[-1]}" 2>/dev/null || true; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'; sleep 0.3; }
cpu_ticks() { local t=0 p; for p in $SERVER_PIDS; do
  t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
rss_bytes() { local t=0 p; for p in $SERVER_PIDS; do
  t=$((t + $(awk '/^VmRSS:/ {print $2 * 1024}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $t; }

wrk_run() { # $1 conns, $2 path -> prints "requests bytes_per_s"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$1" -d"$DURATION" "https://127.0.0.1:$PORT$2" > "$W/wrk.out"
  if grep -q "Non-2xx" "$W/wrk.out"; then echo "non-2xx responses: $(grep Non-2xx "$W/wrk.out")" >&2; fi
  awk '/requests in/ {r=$1} /Transfer\/sec/ {print r, $2}' "$W/wrk.out"
}
tick=$(getconf CLK_TCK)
printf 'scenario\tserver\tmetric\tvalue\n'
for sc in $SCENARIOS; do
  case $sc in
    12) for s in tinyhttpd nginx lighttpd; do
          command -v "$s" > /dev/null || [[ $s == tinyhttpd ]] || continue
          start "$s"; wrk_run 64 /1k.bin > /dev/null   # warm-up
          t0=$(cpu_ticks); read -r reqs _ < <(wrk_run 64 /1k.bin); t1=$(cpu_ticks)
          rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk.out")
          printf '12\t%s\treq/s\t%s\n' "$s" "$rps"
          printf '12\t%s\tcpu_us_per_req\t%s\n' "$s" "$(awk -v d=$((t1 - t0)) -v r="$reqs" -v k="$tick" 'BEGIN {printf "%.1f", d / k * 1e6 / r}')"
          stop
        done ;;
    13) for s in tinyhttpd nginx; do
          start "$s"; wrk_run 16 /1m.bin > /dev/null
          read -r _ rate < <(wrk_run 16 /1m.bin)
          printf '13\t%s\ttransfer/s\t%s\n' "$s" "$rate"; stop
        done ;;
    14) for s in tinyhttpd nginx; do
          start "$s"
          for mode in new reuse; do
            n=$(taskset -c "$CLIENT_CPU" openssl s_time -connect "127.0.0.1:$PORT" -$mode \
                -time "$SECONDS_S_TIME" 2>/dev/null | awk '/connections in/ && /real seconds/ {printf "%.0f", $1 / $4; exit}' || true)
            printf '14\t%s\thandshakes/s_%s\t%s\n' "$s" "$mode" "${n:-?}"
          done
          stop
        done ;;
    15) for s in tinyhttpd nginx; do
          start "$s"
          pid=$(echo $SERVER_PIDS | awk '{print $NF}')
          printf '15\t%s\tbytes_per_idle_tls_conn\t%s\n' "$s" \
            "$(python3 "$LOAD_DIR/tls_idle.py" "$PORT" "$pid" "$IDLE_TLS_CONNS" "$W/cert.pem")"
          stop
        done ;;
    *) echo "unknown TLS scenario $sc (12-15)" >&2; exit 2 ;;
  esac
done
