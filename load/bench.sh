#!/usr/bin/env bash
# bench.sh: load-test tinyhttpd against nginx and lighttpd with wrk.
#
# In scenarios 1-6 every server is pinned to CPU 0 and wrk to CPU 1, so each
# server gets exactly one core and the client never steals it. Scenario 7
# pins nothing and runs two server processes (tinyhttpd --workers 2, nginx
# worker_processes 2; lighttpd stays single-process) against wrk -t2.
# Scenarios 8-11 (run only when selected: SCENARIOS="8 9 10 11" or ALL) are
# pinned like 1-6: 8 cold-disk range reads next to a cached 1 KiB file, 9
# on-the-fly compression, 10 many distinct small files, 11 loop latency
# while compressing. Scenarios 12-15 (HTTPS; SCENARIOS="12 13 14 15") run
# load/bench_tls.sh. Only one server runs at a time: each measured run starts
# a fresh server, warms it up, measures, stops.
# See load/README.md for the scenarios and environment variables.
set -euo pipefail

LOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$LOAD_DIR/.." && pwd)

ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-5s}          # passed to wrk -d ("5s", "10", "1m")
WARMUP=${WARMUP:-1}               # seconds of discarded load before each run; 0 = none
SCENARIOS=${SCENARIOS:-"1 2 3 4 5 6 7"}
[[ $SCENARIOS == ALL || $SCENARIOS == all ]] && SCENARIOS="1 2 3 4 5 6 7 8 9 10 11"
SERVERS=${SERVERS:-"tinyhttpd nginx lighttpd"}
PIPELINE_DEPTH=${PIPELINE_DEPTH:-16}
IDLE_CONNS=${IDLE_CONNS:-10000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
# cargo puts the binary under CARGO_TARGET_DIR when set (relative to the
# repo root, where we run cargo), else under target/.
TARGET_DIR=${CARGO_TARGET_DIR:-target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$REPO_ROOT/$TARGET_DIR
TINYHTTPD_BIN=${TINYHTTPD_BIN:-$TARGET_DIR/release/tinyhttpd}
SKIP_BUILD=${SKIP_BUILD:-0}       # 1 = use the existing binary as is
OUT=${OUT:-}                      # optional directory to keep raw results and logs
NGINX_TCP_NOPUSH=${NGINX_TCP_NOPUSH:-on}  # "off" lifts nginx's pipelining stall (see README)
COLD_BYTES=${COLD_BYTES:-2147483648}     # scenario 8 file; 1 GiB when the disk has < 5 GiB free
COMPRESS_FILES=${COMPRESS_FILES:-5000}   # scenario 11: distinct 100 KiB JS files
MANY_FILES=${MANY_FILES:-50000}          # scenario 10: files in the tree
MANY_FEW=${MANY_FEW:-1000}               # scenario 10, second run: distinct files asked for
COLD_EVICT_EVERY=${COLD_EVICT_EVERY:-0.25}  # scenario 8: seconds between evictions during a run; 0 = evict once

HOST=127.0.0.1
WORK_DIR=""                       # temp dir: docroot, configs, logs, results
DOC_ROOT=""
SERVER_PID=""                     # root pid of the server currently running
SERVER_PORT=""
SERVER_PROCS=1                    # processes the running server should have when ready
SERVER_LISTENERS=1                # listening sockets it should have on SERVER_PORT
# Per-scenario settings (scenario_spec sets them; these are for scenario 6):
S_PIN=1                           # 1 = server on SERVER_CPU, wrk on CLIENT_CPU
S_WORKERS=1                       # server worker processes (lighttpd always has 1)
S_THREADS=1                       # wrk -t
IDLE_PID=""                       # idle_conns.py client, scenario 6
IDLE_WFD=""                       # fd to its stdin
IDLE_RFD=""                       # fd from its stdout
declare -A SKIP=()                # server (or label@scenario) -> reason it is skipped
declare -A SKIP_SC=()             # scenario -> 1 when it cannot run here
# Per-run config additions for scenarios 8-11 (server_config sets them; all
# empty for scenarios 1-7, whose configs stay as they were):
NGINX_EXTRA=""                    # http-level nginx directives
NGINX_TYPES_EXTRA=""              # lines for nginx's types {} block
LIGHTTPD_EXTRA=""                 # lighttpd config lines
LIGHTTPD_MIME_EXTRA=""            # extra mimetype.assign entries (leading comma)
TINY_EXTRA=()                     # extra tinyhttpd arguments
S_WRK_OPTS=()                     # extra wrk options (e.g. -H)
TINY_HELP=""                      # tinyhttpd --help output, to test for flags

log()  { printf '%s\n' "$*" >&2; }
note() { printf 'NOTE: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup --

# Close our ends of its FIFOs (EOF on its stdin tells it to exit), then make
# sure it is gone.
stop_idle_client() {
    if [[ -n $IDLE_WFD ]]; then
        exec {IDLE_WFD}>&-
        IDLE_WFD=""
    fi
    if [[ -n $IDLE_RFD ]]; then
        exec {IDLE_RFD}<&-
        IDLE_RFD=""
    fi
    if [[ -n $IDLE_PID ]]; then
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$IDLE_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill "$IDLE_PID" 2>/dev/null || true
        wait "$IDLE_PID" 2>/dev/null || true
        IDLE_PID=""
    fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_idle_client
    stop_server
    if [[ -n $WORK_DIR && -d $WORK_DIR ]]; then
        if [[ -n $OUT ]]; then
            { mkdir -p "$OUT" && cp -r "$WORK_DIR/results" "$WORK_DIR/logs" "$OUT/"; } 2>/dev/null ||
                note "could not copy results to $OUT"
        fi
        rm -rf "$WORK_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap does the cleanup once.
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ setup --

# Install missing tools through apt (we run as root); only what is missing.
ensure_tools() {
    local -a pkgs=()
    command -v wrk >/dev/null || pkgs+=(wrk)
    command -v python3 >/dev/null || pkgs+=(python3)
    command -v taskset >/dev/null || pkgs+=(util-linux)
    [[ " $SERVERS " == *" nginx "* ]] && ! command -v nginx >/dev/null && pkgs+=(nginx-light)
    [[ " $SERVERS " == *" lighttpd "* ]] && ! command -v lighttpd >/dev/null && pkgs+=(lighttpd)
    # Scenarios 9 and 11: the brotli command decodes br responses in the
    # sanity check, curl times scenario 9's first request; lighttpd's
    # mod_deflate is a package of its own on Debian.
    if selected 9 || selected 11; then
        command -v brotli >/dev/null || pkgs+=(brotli)
        command -v curl >/dev/null || pkgs+=(curl)
    fi
    if selected 9 && [[ " $SERVERS " == *" lighttpd "* ]] && ! lighttpd_mod_deflate >/dev/null &&
        apt-cache show lighttpd-mod-deflate >/dev/null 2>&1; then
        pkgs+=(lighttpd-mod-deflate)
    fi
    if ((${#pkgs[@]})); then
        log "installing missing packages: ${pkgs[*]}"
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}"; } >&2; then
            note "apt-get install failed; continuing with what is installed"
        fi
        # Debian starts the packaged services on install: stop the ones we
        # just installed so they do not compete for CPU 0 with our runs.
        local pkg svc
        for pkg in "${pkgs[@]}"; do
            case $pkg in
                nginx-light) svc=nginx ;;
                lighttpd) svc=lighttpd ;;
                *) continue ;;
            esac
            systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
        done
    fi
    ensure_nginx_threads
    command -v wrk >/dev/null || die "wrk is not installed"
    command -v python3 >/dev/null || die "python3 is not installed"
    command -v taskset >/dev/null || die "taskset is not installed"
}

# Whether scenario $1 is in SCENARIOS.
selected() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# Path of lighttpd's mod_deflate.so, if installed.
lighttpd_mod_deflate() {
    local f
    for f in /usr/lib/lighttpd/mod_deflate.so /usr/lib/*/lighttpd/mod_deflate.so \
        /usr/local/lib/mod_deflate.so /usr/local/lib/lighttpd/mod_deflate.so; do
        [[ -e $f ]] && { echo "$f"; return 0; }
    done
    return 1
}

nginx_has_threads() { nginx -V 2>&1 | grep -q -- '--with-threads'; }

# Scenario 8 runs nginx with "aio threads", which needs nginx built
# --with-threads. Debian 12's nginx package (which nginx-light depends on)
# has it; on releases where nginx-light is a build without it, install the
# first of nginx-core, nginx-full, nginx that apt knows (each replaces
# nginx-light). Only when scenario 8 is selected.
ensure_nginx_threads() {
    selected 8 && [[ " $SERVERS " == *" nginx "* ]] && command -v nginx >/dev/null || return 0
    nginx_has_threads && return 0
    local pkg
    for pkg in nginx-core nginx-full nginx; do
        apt-cache show "$pkg" >/dev/null 2>&1 || continue
        log "scenario 8: nginx lacks --with-threads; installing $pkg"
        apt-get update -qq >&2 || true
        if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2; then
            systemctl stop nginx >/dev/null 2>&1 || service nginx stop >/dev/null 2>&1 || true
        fi
        break
    done
    nginx_has_threads || note "nginx has no thread pools (--with-threads): scenario 8 runs without nginx-aio"
}

# Whether tinyhttpd's --help lists flag $1 (e.g. --no-compress).
tiny_has_flag() {
    [[ -n $TINY_HELP ]] || TINY_HELP=$("$TINYHTTPD_BIN" --help 2>&1 || true)
    grep -qE -- "(^|[[:space:],])$1([[:space:]=<,]|\$)" <<<"$TINY_HELP"
}

# Raise the fd limit to the hard limit: scenario 5 needs >1000 sockets in
# wrk and the server, scenario 6 needs IDLE_CONNS in the client and server.
# Servers and clients inherit it from this shell.
raise_fd_limit() {
    local hard
    hard=$(ulimit -Hn)
    [[ $hard == unlimited ]] && hard=1048576
    ulimit -n "$hard"
    NOFILE=$(ulimit -n)
}

build_tinyhttpd() {
    [[ " $SERVERS " == *" tinyhttpd "* ]] || return 0
    if [[ $SKIP_BUILD != 1 ]]; then
        if ! command -v cargo >/dev/null; then
            SKIP[tinyhttpd]="cargo not found"
            return 0
        fi
        log "building tinyhttpd (cargo build --release)..."
        if ! (cd "$REPO_ROOT" && cargo build --release) >"$WORK_DIR/logs/cargo-build.log" 2>&1; then
            tail -n 20 "$WORK_DIR/logs/cargo-build.log" >&2
            SKIP[tinyhttpd]="cargo build --release failed"
            return 0
        fi
    fi
    [[ -x $TINYHTTPD_BIN ]] || SKIP[tinyhttpd]="$TINYHTTPD_BIN not found"
}

# Docroot with the files the scenarios fetch.
make_docroot() {
    DOC_ROOT=$WORK_DIR/www
    mkdir -p "$DOC_ROOT"
    head -c 128 /dev/urandom >"$DOC_ROOT/128.bin"
    head -c 1024 /dev/urandom >"$DOC_ROOT/1k.bin"
    head -c 1048576 /dev/urandom >"$DOC_ROOT/1m.bin"
    if [[ -f $REPO_ROOT/static/index.html ]]; then
        cp "$REPO_ROOT/static/index.html" "$DOC_ROOT/index.html"
    else
        printf '<!doctype html>\n<html><head><title>tinyhttpd</title></head><body><h1>It works</h1></body></html>\n' \
            >"$DOC_ROOT/index.html"
    fi
    # nginx workers run as "nobody" when started by root: mktemp -d is 0700.
    chmod 755 "$WORK_DIR" "$DOC_ROOT"
    chmod 644 "$DOC_ROOT"/*
}

# Files for scenarios 8-11, each made once per bench run and only when its
# scenario is selected (all under DOC_ROOT, so every server serves them):
#   8   cold/big.bin: COLD_BYTES of random data (incompressible, no dedupe)
#   9   js/app.js: 100 KiB of generated JavaScript-like text
#   10  many/d00..d99/f00000.bin..: MANY_FILES random 1 KiB files
#   11  cjs/c00000.js..: COMPRESS_FILES distinct 100 KiB JS-like files (and
#       js/app.js for the sanity check)
make_docroot_extra() {
    local gen=$LOAD_DIR/gen_files.py
    if selected 8; then
        local avail fstype
        avail=$(df -B1 --output=avail "$WORK_DIR" | tail -n 1 | tr -d ' ')
        fstype=$(stat -f -c %T "$WORK_DIR")
        if ((avail < 5 * 1024 ** 3 && COLD_BYTES > 1024 ** 3)); then
            note "scenario 8: only $((avail / 1024 ** 2)) MiB free under $WORK_DIR (< 5 GiB): using a 1 GiB file instead of $((COLD_BYTES / 1024 ** 2)) MiB"
            COLD_BYTES=$((1024 ** 3))
        fi
        if ((avail < COLD_BYTES + 512 * 1024 ** 2)); then
            note "scenario 8: not enough disk space for $((COLD_BYTES / 1024 ** 2)) MiB; skipping it"
            SKIP_SC[8]=1
        else
            [[ $fstype == tmpfs || $fstype == ramfs ]] &&
                note "scenario 8: $WORK_DIR is on $fstype, whose pages cannot be evicted; set TMPDIR to a directory on a disk"
            log "scenario 8: writing $((COLD_BYTES / 1024 ** 2)) MiB of random data..."
            python3 "$gen" random "$DOC_ROOT/cold/big.bin" "$COLD_BYTES"
        fi
    fi
    if selected 9 || selected 11; then
        python3 "$gen" js "$DOC_ROOT/js/app.js"
    fi
    if selected 10; then
        log "scenario 10: writing $MANY_FILES files of 1 KiB in 100 directories..."
        python3 "$gen" many "$DOC_ROOT/many" "$MANY_FILES"
    fi
    if selected 11; then
        log "scenario 11: writing $COMPRESS_FILES JS files of 100 KiB..."
        python3 "$gen" js-many "$DOC_ROOT/cjs" "$COMPRESS_FILES"
    fi
    # Readable by nginx's "nobody" workers.
    chmod -R a+rX "$DOC_ROOT"
}

# A free TCP port below the ephemeral range, so it never collides with a
# client port that wrk left in TIME_WAIT.
free_port() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port found")
EOF
}

# ---------------------------------------------------------------- servers --

server_installed() {
    case $1 in
        tinyhttpd) [[ -x $TINYHTTPD_BIN ]] ;;
        nginx | lighttpd) command -v "$1" >/dev/null ;;
        *) return 1 ;;
    esac
}

# Runs "$@" pinned to SERVER_CPU when the scenario pins the server, else as is.
server_exec() {
    if ((S_PIN)); then
        exec taskset -c "$SERVER_CPU" "$@"
    fi
    exec "$@"
}

# With S_WORKERS > 1: a supervisor plus S_WORKERS workers (its children, each
# in its own process group, each with its own SO_REUSEPORT listening socket).
start_tinyhttpd() {
    local port=$1
    local -a args=(--port "$port" --root "$DOC_ROOT" --bind "$HOST" "${TINY_EXTRA[@]}")
    SERVER_PROCS=1 SERVER_LISTENERS=1
    if ((S_WORKERS > 1)); then
        args+=(--workers "$S_WORKERS")
        SERVER_PROCS=$((S_WORKERS + 1)) SERVER_LISTENERS=$S_WORKERS
    fi
    server_exec "$TINYHTTPD_BIN" "${args[@]}" >"$WORK_DIR/logs/tinyhttpd.log" 2>&1 &
    SERVER_PID=$!
}

# S_WORKERS workers plus their master (daemon off keeps the master as our
# child); every path nginx writes to lives in the temp dir, nothing under
# /etc or /var.
start_nginx() {
    local port=$1 dir=$WORK_DIR/nginx
    mkdir -p "$dir"
    SERVER_PROCS=$((S_WORKERS + 1)) SERVER_LISTENERS=1
    cat >"$dir/nginx.conf" <<EOF
worker_processes $S_WORKERS;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $NOFILE;
events {
    worker_connections $((NOFILE - 64));
}
http {
    access_log off;
    sendfile on;
    tcp_nopush $NGINX_TCP_NOPUSH;
    open_file_cache max=1000 inactive=20s;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    $NGINX_EXTRA
    types {
        text/html html;
        application/octet-stream bin;
        $NGINX_TYPES_EXTRA
    }
    default_type application/octet-stream;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        # A deep backlog so the 1000-connection burst is not dropped SYNs.
        listen $HOST:$port backlog=4096;
        root $DOC_ROOT;
        index index.html;
    }
}
EOF
    server_exec nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
        >"$WORK_DIR/logs/nginx.log" 2>&1 &
    SERVER_PID=$!
}

# Always one process, whatever S_WORKERS says (see README).
start_lighttpd() {
    local port=$1 dir=$WORK_DIR/lighttpd
    mkdir -p "$dir"
    SERVER_PROCS=1 SERVER_LISTENERS=1
    # lighttpd caps max-connections at max-fds/2; max-keep-alive-requests is
    # a 16-bit setting, so 65535 is its maximum. No mod_accesslog = no
    # access log. A long idle timeout keeps scenario 6's connections open.
    cat >"$dir/lighttpd.conf" <<EOF
server.document-root = "$DOC_ROOT"
server.bind = "$HOST"
server.port = $port
server.errorlog = "$dir/error.log"
server.max-fds = $NOFILE
server.max-connections = $((NOFILE / 2))
server.max-keep-alive-requests = 65535
server.max-keep-alive-idle = 300
server.listen-backlog = 4096
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".bin" => "application/octet-stream"$LIGHTTPD_MIME_EXTRA)
$LIGHTTPD_EXTRA
EOF
    server_exec lighttpd -D -f "$dir/lighttpd.conf" \
        >"$WORK_DIR/logs/lighttpd.log" 2>&1 &
    SERVER_PID=$!
}

# The server's root pid and all its descendants (nginx master + workers,
# tinyhttpd supervisor + workers), found by parent pid, not process group:
# tinyhttpd's workers are in process groups of their own.
server_pids() {
    local pid=${1:-$SERVER_PID} child
    [[ -n $pid ]] || return 0
    echo "$pid"
    for child in $(pgrep -P "$pid" || true); do
        server_pids "$child"
    done
}

# Whether process $1 exists and is not a zombie.
pid_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ ${stat##*) } != Z* ]]
}

# Listening TCP sockets on 127.0.0.1:$1 (state 0A in /proc/net/tcp).
listeners_on() {
    awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a && $4 == "0A" { n++ } END { print n + 0 }' \
        /proc/net/tcp
}

# Start server $1 on a fresh port and wait until it accepts connections and
# has all its processes and listening sockets (every tinyhttpd worker has
# bound its SO_REUSEPORT socket, every nginx worker exists).
start_server() {
    local name=$1 i procs listeners
    SERVER_PORT=$(free_port)
    "start_$name" "$SERVER_PORT"
    for ((i = 0; i < 100; i++)); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null || true
            SERVER_PID=""
            tail -n 5 "$WORK_DIR/logs/$name.log" >&2 || true
            return 1
        fi
        procs=$(server_pids | wc -l)
        listeners=$(listeners_on "$SERVER_PORT")
        if ((procs >= SERVER_PROCS && listeners >= SERVER_LISTENERS)) &&
            (exec 3<>"/dev/tcp/$HOST/$SERVER_PORT") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    note "$name not ready after 10 s: $procs of $SERVER_PROCS processes," \
        "$listeners of $SERVER_LISTENERS listening sockets"
    stop_server
    return 1
}

# TERM the server's root process (tinyhttpd's supervisor passes it on to its
# workers and exits once they are gone; nginx's master does the same), give
# every server process 5 s to exit, then KILL whatever is left and wait for
# it. The pid list is taken first: workers whose parent has already exited
# are no longer found by parent pid.
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local -a pids left
    local pid i
    mapfile -t pids < <(server_pids)
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        left=()
        for pid in "${pids[@]}"; do
            pid_alive "$pid" && left+=("$pid")
        done
        ((${#left[@]})) || break
        if ((i == 50)); then
            note "server processes ${left[*]} still running 5 s after SIGTERM; killing them"
            kill -KILL "${left[@]}" 2>/dev/null || true
        fi
        sleep 0.1
    done
    if ((${#left[@]})); then
        note "server processes ${left[*]} survived SIGKILL"
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Check that the server returns every file with the right size, so a broken
# server is skipped instead of producing fast-but-wrong numbers.
sanity_check() {
    python3 - "$HOST" "$SERVER_PORT" "$DOC_ROOT" <<'EOF'
import http.client, os, sys
host, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for path in ("/", "/128.bin", "/1k.bin", "/1m.bin"):
    want = open(os.path.join(root, path.lstrip("/") or "index.html"), "rb").read()
    c = http.client.HTTPConnection(host, port, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200 or body != want:
        sys.exit("GET %s: status %d, %d bytes (want 200, %d bytes)"
                 % (path, r.status, len(body), len(want)))
EOF
}

# Total utime+stime clock ticks of all server processes. Fields 14 and 15 of
# /proc/PID/stat; cut after the last ')' since comm may contain spaces.
server_cpu_ticks() {
    local pid stat total=0
    local -a f
    for pid in $(server_pids); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        read -ra f <<<"${stat##*) }"
        # f[0] is field 3 (state), so field N is f[N-3].
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# Total VmRSS (kB) of all server processes.
server_rss_kb() {
    local pid kb total=0
    for pid in $(server_pids); do
        kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# ------------------------------------------------------------- scenarios --

# Sets S_NAME S_CONNS S_PATH S_SCRIPT S_ARGS S_PIN S_WORKERS S_THREADS for
# throughput scenario $1.
scenario_spec() {
    S_ARGS=() S_PIN=1 S_WORKERS=1 S_THREADS=1 S_WRK_OPTS=()
    case $1 in
        1) S_NAME=1k-keepalive S_CONNS=64 S_PATH=/1k.bin S_SCRIPT=report.lua ;;
        2) S_NAME=1m-keepalive S_CONNS=16 S_PATH=/1m.bin S_SCRIPT=report.lua ;;
        3) S_NAME=1k-close S_CONNS=32 S_PATH=/1k.bin S_SCRIPT=close.lua ;;
        4) S_NAME=128-pipeline$PIPELINE_DEPTH S_CONNS=32 S_PATH=/128.bin S_SCRIPT=pipeline.lua
           S_ARGS=(-- "$PIPELINE_DEPTH" /128.bin) ;;
        5) S_NAME=1k-c1000 S_CONNS=1000 S_PATH=/1k.bin S_SCRIPT=report.lua ;;
        7) S_NAME=1k-keepalive-2cores S_CONNS=64 S_PATH=/1k.bin S_SCRIPT=report.lua
           S_PIN=0 S_WORKERS=2 S_THREADS=2 ;;
        9) S_NAME=js100k-compress S_CONNS=64 S_PATH=/js/app.js S_SCRIPT=report.lua
           S_WRK_OPTS=(--timeout 10s -H "Accept-Encoding: gzip, br") ;;
        10a) S_NAME=many-$MANY_FILES S_CONNS=64 S_PATH=/ S_SCRIPT=many.lua
             S_ARGS=(-- "$MANY_FILES" 100 10) ;;
        10b) S_NAME=many-$MANY_FEW S_CONNS=64 S_PATH=/ S_SCRIPT=many.lua
             S_ARGS=(-- "$MANY_FEW" 100 10) ;;
        *) return 1 ;;
    esac
}

# Server config additions for scenario $1 and server label $2 (labels:
# tinyhttpd, tinyhttpd-nocomp, nginx, nginx-aio, lighttpd). Scenarios 1-7
# get none.
server_config() {
    local sc=$1 label=$2
    NGINX_EXTRA="" NGINX_TYPES_EXTRA="" LIGHTTPD_EXTRA="" LIGHTTPD_MIME_EXTRA="" TINY_EXTRA=()
    case $sc:$label in
        8:nginx-aio)
            # With sendfile on (already set), nginx offloads the reads to the
            # default thread pool (32 threads).
            NGINX_EXTRA="aio threads;" ;;
        9:nginx | 11:nginx)
            # nginx compresses every response again: it has no cache of
            # compressed variants.
            NGINX_EXTRA="gzip on; gzip_comp_level 6; gzip_types application/javascript text/javascript;"
            NGINX_TYPES_EXTRA="application/javascript js;" ;;
        9:lighttpd | 11:lighttpd)
            local encs='"gzip"'
            lighttpd -V 2>&1 | grep -q '+ brotli support' && encs='"br", "gzip"'
            mkdir -p "$WORK_DIR/lighttpd/deflate-cache"
            LIGHTTPD_MIME_EXTRA=', ".js" => "application/javascript"'
            LIGHTTPD_EXTRA="server.modules = (\"mod_deflate\")
deflate.cache-dir = \"$WORK_DIR/lighttpd/deflate-cache\"
deflate.mimetypes = (\"application/javascript\", \"text/javascript\")
deflate.allowed-encodings = ($encs)" ;;
        11:tinyhttpd-nocomp)
            TINY_EXTRA=(--no-compress) ;;
    esac
}

# Server labels to run in scenario $1, from the servers given in SERVERS.
labels_for() {
    local sc=$1 s
    for s in "${servers[@]}"; do
        case $sc:$s in
            8:tinyhttpd) echo tinyhttpd ;;
            8:nginx) echo nginx; nginx_has_threads && echo nginx-aio ;;
            8:*) ;;  # the issue compares tinyhttpd with nginx only
            11:tinyhttpd) echo tinyhttpd; tiny_has_flag --no-compress && echo tinyhttpd-nocomp ;;
            11:nginx) echo nginx ;;
            11:*) ;;
            *) echo "$s" ;;
        esac
    done
}

# Scenario-specific checks (check_extra.py) for scenario $1, label $2; prints
# "encoding=..." for scenario 9.
extra_check() {
    local kind
    case $1 in
        8) kind=range ;;
        9 | 11) kind=js ;;
        10a | 10b) kind=many ;;
        *) return 0 ;;
    esac
    python3 "$LOAD_DIR/check_extra.py" "$HOST" "$SERVER_PORT" "$DOC_ROOT" "$kind" "$2"
}

# wrk for the current scenario against the running server; output to $2.
run_wrk() {
    local duration=$1 outfile=$2
    local -a pin=()
    ((S_PIN)) && pin=(taskset -c "$CLIENT_CPU")
    "${pin[@]}" wrk -t"$S_THREADS" -c"$S_CONNS" -d"$duration" --latency "${S_WRK_OPTS[@]}" \
        -s "$LOAD_DIR/$S_SCRIPT" "http://$HOST:$SERVER_PORT$S_PATH" "${S_ARGS[@]}" \
        >"$outfile" 2>&1
}

# One measured run: scenario $1 (10a/10b: scenario 10's two runs), server
# label $2 (see server_config), round $3. Appends a results row.
measure_run() {
    local sc=$1 server=$2 round=$3
    local tag="r$round-s$sc-$server" wlog t0 t1 procs report
    local base=${server%%-*} skey=$server check_out
    ((${sc%[ab]} >= 8)) && skey=$server@${sc%[ab]}
    wlog=$WORK_DIR/logs/wrk-$tag.log
    scenario_spec "$sc"
    server_config "${sc%[ab]}" "$server"

    if ! start_server "$base"; then
        note "$server failed to start; skipping it from now on"
        SKIP[$skey]="failed to start"
        return 0
    fi
    if ! sanity_check >&2 || ! check_out=$(extra_check "$sc" "$server"); then
        note "$server failed the sanity check; skipping it from now on"
        SKIP[$skey]="failed the sanity check"
        stop_server
        return 0
    fi
    if [[ $check_out == encoding=* ]]; then
        printf '%s\t%s\t%s\t%s\n' "${sc%[ab]}" "$server" "$round" "${check_out%% *}" \
            >>"$WORK_DIR/results/encodings.tsv"
    fi
    if [[ $WARMUP != 0 ]]; then
        run_wrk "${WARMUP}s" "$WORK_DIR/logs/warmup-$tag.log" || true
    fi

    t0=$(server_cpu_ticks)
    if ! run_wrk "$DURATION" "$wlog"; then
        note "wrk failed for $tag: $(tail -n 3 "$wlog")"
    fi
    t1=$(server_cpu_ticks)
    procs=$(server_pids | wc -l)
    stop_server

    report=$(grep '^REPORT ' "$wlog" | tail -n 1 || true)
    if [[ -z $report ]]; then
        note "no REPORT line from wrk for $tag (see below)"
        tail -n 5 "$wlog" >&2
        return 0
    fi
    local -A r=()
    local kv
    local -a kvs
    read -ra kvs <<<"${report#REPORT }"
    for kv in "${kvs[@]}"; do
        r[${kv%%=*}]=${kv#*=}
    done
    local errs=$((r[err_connect] + r[err_read] + r[err_write] + r[err_timeout] + r[non2xx]))
    local cpu_us_req
    cpu_us_req=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="${r[requests]}" \
        'BEGIN { printf "%.3f", (n > 0 ? t * 1e6 / hz / n : 0) }')

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "${sc%[ab]}" "$S_NAME" "$server" "$round" "${r[requests]}" "${r[rps]}" "${r[mbps]}" \
        "${r[p50_us]}" "${r[p99_us]}" "$cpu_us_req" \
        "${r[err_connect]}" "${r[err_read]}" "${r[err_write]}" "${r[err_timeout]}" "${r[non2xx]}" \
        "$((t1 - t0))" "$procs" >>"$WORK_DIR/results/runs.tsv"

    local flag=""
    if ((errs > 0)); then
        flag="  !! ERRORS connect=${r[err_connect]} read=${r[err_read]} write=${r[err_write]}"
        flag+=" timeout=${r[err_timeout]} non2xx=${r[non2xx]}"
    fi
    printf '[round %s] %-22s %-9s %10.0f req/s %9.1f MB/s  p50 %7.3f ms  p99 %7.3f ms  %7.2f CPU us/req  %d proc%s\n' \
        "$round" "${sc%[ab]}:$S_NAME" "$server" "${r[rps]}" "${r[mbps]}" \
        "$(awk -v u="${r[p50_us]}" 'BEGIN{print u/1000}')" \
        "$(awk -v u="${r[p99_us]}" 'BEGIN{print u/1000}')" \
        "$cpu_us_req" "$procs" "$flag"
}

# Reads wrk's REPORT line from file $1 into the associative array named $2.
read_report() {
    local -n rr=$2
    local line kv
    local -a kvs
    line=$(grep '^REPORT ' "$1" | tail -n 1 || true)
    [[ -n $line ]] || return 1
    read -ra kvs <<<"${line#REPORT }"
    for kv in "${kvs[@]}"; do
        rr[${kv%%=*}]=${kv#*=}
    done
}

# wrk duration ("5s", "10", "1m", "500ms") in seconds.
duration_secs() {
    awk -v d="$1" 'BEGIN { n = d + 0; u = d; sub(/^[0-9.]+/, "", u)
        if (u == "m") n *= 60; else if (u == "h") n *= 3600; else if (u == "ms") n /= 1000
        print n }'
}

# Scenarios 8 and 11: two wrk processes at once, both on CLIENT_CPU: a load
# (8: 16 connections of random 1 MiB ranges of the cold file; 11: 64
# connections each asking for a JS file not compressed yet) and a probe (4
# connections on the cached 1 KiB file) whose latency is the result.
# Scenario $1, server label $2, round $3. Appends a row to dual.tsv.
measure_dual() {
    local sc=$1 server=$2 round=$3
    local tag="r$round-s$sc-$server" base=${server%%-*} skey=$server@$1 name
    local llog=$WORK_DIR/logs/wrk-$tag-load.log plog=$WORK_DIR/logs/wrk-$tag-probe.log
    local -a load
    S_PIN=1 S_WORKERS=1 S_THREADS=1
    server_config "$sc" "$server"
    if ! start_server "$base"; then
        note "$server failed to start; skipping it in scenario $sc"
        SKIP[$skey]="failed to start"
        return 0
    fi
    if ! sanity_check >&2 || ! extra_check "$sc" "$server" >/dev/null; then
        note "$server failed the sanity check; skipping it in scenario $sc"
        SKIP[$skey]="failed the sanity check"
        stop_server
        return 0
    fi
    case $sc in
        8) name=cold-range-1m
           load=(-c16 --timeout 10s -s "$LOAD_DIR/range.lua" "http://$HOST:$SERVER_PORT/cold/big.bin"
                 -- "$COLD_BYTES" 1048576 8) ;;
        11) name=compress-cold-js
            load=(-c64 --timeout 10s -H "Accept-Encoding: gzip, br" -s "$LOAD_DIR/coldjs.lua"
                  "http://$HOST:$SERVER_PORT/" -- "$COMPRESS_FILES" 11) ;;
    esac
    local probe_url=http://$HOST:$SERVER_PORT/1k.bin
    # Warm up the probe's file only: the load's files must stay cold.
    if [[ $WARMUP != 0 ]]; then
        taskset -c "$CLIENT_CPU" wrk -t1 -c4 -d"${WARMUP}s" -s "$LOAD_DIR/report.lua" "$probe_url" \
            >"$WORK_DIR/logs/warmup-$tag.log" 2>&1 || true
    fi
    local res_before=- res_after=-
    if ((sc == 8)); then
        sync
        python3 "$LOAD_DIR/pagecache.py" evict "$DOC_ROOT/cold/big.bin"
        res_before=$(python3 "$LOAD_DIR/pagecache.py" resident "$DOC_ROOT/cold/big.bin")
    fi

    local t0 t1 procs lpid ppid
    t0=$(server_cpu_ticks)
    taskset -c "$CLIENT_CPU" wrk -t1 -d"$DURATION" --latency "${load[@]}" >"$llog" 2>&1 &
    lpid=$!
    taskset -c "$CLIENT_CPU" wrk -t1 -c4 -d"$DURATION" --latency -s "$LOAD_DIR/report.lua" "$probe_url" \
        >"$plog" 2>&1 &
    ppid=$!
    local epid=""
    if ((sc == 8)) && [[ $COLD_EVICT_EVERY != 0 ]]; then
        # Keep the file cold during the run: evict it every COLD_EVICT_EVERY s
        # for as long as wrk runs (bounded by its duration).
        python3 "$LOAD_DIR/pagecache.py" evict-loop "$DOC_ROOT/cold/big.bin" \
            "$(duration_secs "$DURATION")" "$COLD_EVICT_EVERY" &
        epid=$!
    fi
    wait "$lpid" || note "load wrk failed for $tag: $(tail -n 3 "$llog")"
    [[ -n $epid ]] && wait "$epid"
    wait "$ppid" || note "probe wrk failed for $tag: $(tail -n 3 "$plog")"
    t1=$(server_cpu_ticks)
    procs=$(server_pids | wc -l)
    ((sc == 8)) && res_after=$(python3 "$LOAD_DIR/pagecache.py" resident "$DOC_ROOT/cold/big.bin")
    stop_server

    local -A L=() P=()
    if ! read_report "$llog" L || ! read_report "$plog" P; then
        note "no REPORT line from wrk for $tag (see below)"
        tail -n 5 "$llog" "$plog" >&2
        return 0
    fi
    local lerr=$((L[err_connect] + L[err_read] + L[err_write] + L[err_timeout] + L[non2xx]))
    local perr=$((P[err_connect] + P[err_read] + P[err_write] + P[err_timeout] + P[non2xx]))
    local wraps=- line
    line=$(grep '^COLDJS ' "$llog" | tail -n 1 || true)
    [[ -n $line ]] && { wraps=${line#*wraps=}; wraps=${wraps%% *}; }
    local cpu_us_req
    cpu_us_req=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$((L[requests] + P[requests]))" \
        'BEGIN { printf "%.3f", (n > 0 ? t * 1e6 / hz / n : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$sc" "$name" "$server" "$round" "${L[requests]}" "${L[rps]}" "${L[mbps]}" "$lerr" \
        "${P[requests]}" "${P[rps]}" "${P[p50_us]}" "${P[p99_us]}" "${P[max_us]}" "$perr" \
        "$cpu_us_req" "$res_before" "$res_after" "$wraps" "$procs" >>"$WORK_DIR/results/dual.tsv"

    local flag=""
    ((lerr + perr > 0)) && flag+="  !! ERRORS load=$lerr probe=$perr"
    [[ $res_before != - ]] && awk -v r="$res_before" 'BEGIN { exit !(r > 5) }' &&
        flag+="  !! only evicted to $res_before% cached"
    [[ $wraps != - && $wraps != 0 ]] && flag+="  !! all $COMPRESS_FILES files sent, $wraps wraps"
    printf '[round %s] %-22s %-16s load %7.0f req/s %8.1f MB/s | 1k p99 %8.3f ms max %8.3f ms %7.0f req/s | %7.2f CPU us/req%s%s\n' \
        "$round" "$sc:$name" "$server" "${L[rps]}" "${L[mbps]}" \
        "$(awk -v u="${P[p99_us]}" 'BEGIN{print u/1000}')" \
        "$(awk -v u="${P[max_us]}" 'BEGIN{print u/1000}')" "${P[rps]}" "$cpu_us_req" \
        "$( [[ $res_before != - ]] && echo "  cached ${res_before}%->${res_after}%")" "$flag"
}

# Scenario 9: tinyhttpd's first response for a variant it has not
# compressed yet: a fresh server, one curl with Accept-Encoding: br.
# Round $1. Appends to coldfirst.tsv and prints a NOTE.
cold_first_request() {
    local round=$1 hdr=$WORK_DIR/logs/coldfirst-r$1.hdr out enc
    server_config 9 tinyhttpd
    S_PIN=1 S_WORKERS=1 S_THREADS=1
    start_server tinyhttpd || { note "tinyhttpd failed to start for the first-request timing"; return 0; }
    out=$(taskset -c "$CLIENT_CPU" curl -s -o /dev/null -D "$hdr" -H 'Accept-Encoding: br' \
        -w '%{http_code} %{time_total} %{size_download}' "http://$HOST:$SERVER_PORT/js/app.js" || true)
    stop_server
    enc=$(awk -F': *' 'tolower($1) == "content-encoding" { gsub(/\r/, "", $2); print $2 }' "$hdr")
    read -r code secs bytes <<<"$out"
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "${code:-0}" "$(awk -v s="${secs:-0}" 'BEGIN{printf "%.3f", s*1000}')" \
        "${bytes:-0}" "${enc:-identity}" >>"$WORK_DIR/results/coldfirst.tsv"
    note "scenario 9: tinyhttpd first request of a cold variant (fresh server, Accept-Encoding: br):" \
        "status ${code:-?}, $(awk -v s="${secs:-0}" 'BEGIN{printf "%.3f", s*1000}') ms," \
        "${bytes:-?} bytes, Content-Encoding ${enc:-identity}"
}

# Scenario 6: RSS of server $1 before and after IDLE_CONNS idle keep-alive
# connections, each of which completed one GET of the 1 KiB file.
measure_memory() {
    local server=$1 before after line="" ok="" failed="" alive=""
    S_PIN=1 S_WORKERS=1 S_THREADS=1
    if ! start_server "$server"; then
        note "$server failed to start; skipping scenario 6 for it"
        return 0
    fi
    if ! sanity_check >&2; then
        note "$server failed the sanity check; skipping scenario 6 for it"
        stop_server
        return 0
    fi
    sleep 0.5
    before=$(server_rss_kb)

    # Drive the client through two FIFOs: lines from its stdout, commands
    # (and finally EOF) to its stdin.
    local fifo_in=$WORK_DIR/idle.in fifo_out=$WORK_DIR/idle.out
    rm -f "$fifo_in" "$fifo_out"
    mkfifo "$fifo_in" "$fifo_out"
    taskset -c "$CLIENT_CPU" python3 "$LOAD_DIR/idle_conns.py" \
        --host "$HOST" --port "$SERVER_PORT" --path /1k.bin -n "$IDLE_CONNS" \
        <"$fifo_in" >"$fifo_out" 2>>"$WORK_DIR/logs/idle-$server.log" &
    IDLE_PID=$!
    exec {IDLE_WFD}>"$fifo_in" {IDLE_RFD}<"$fifo_out"
    local rfd=$IDLE_RFD wfd=$IDLE_WFD
    while IFS= read -r -t 180 -u "$rfd" line; do
        case $line in
            opened*) ok=${line#*ok=}; ok=${ok%% *}; failed=${line##*failed=} ;;
            ready) break ;;
        esac
    done
    if [[ $line != ready ]]; then
        note "idle_conns.py did not get ready for $server: $(tail -n 3 "$WORK_DIR/logs/idle-$server.log")"
        stop_idle_client
        stop_server
        return 0
    fi
    # Let the server finish any deferred per-connection work before sampling.
    sleep 1
    after=$(server_rss_kb)
    echo check >&"$wfd"
    if IFS= read -r -t 30 -u "$rfd" line && [[ $line == alive* ]]; then
        alive=${line#alive }
    fi
    # EOF on its stdin makes idle_conns.py close everything and exit.
    stop_idle_client
    stop_server

    local per_conn
    per_conn=$(awk -v b="$before" -v a="$after" -v n="${alive:-$ok}" \
        'BEGIN { printf "%.0f", (n > 0 ? (a - b) * 1024 / n : 0) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$before" "$after" "$ok" "$failed" \
        "${alive:-}" "$per_conn" >>"$WORK_DIR/results/memory.tsv"
    local flag=""
    if [[ $failed != 0 || ${alive:-x} != "$ok" ]]; then
        flag="  !! opened $ok, failed $failed, alive at sample ${alive:-?}"
    fi
    printf '[memory] %-9s RSS %7d kB -> %7d kB with %s idle conns: %6s bytes/conn%s\n' \
        "$server" "$before" "$after" "${alive:-$ok}" "$per_conn" "$flag"
}

# ------------------------------------------------------------------- main --

main() {
    ensure_tools
    raise_fd_limit
    CLK_TCK=$(getconf CLK_TCK)
    export WRK_REPORT_LUA=$LOAD_DIR/report.lua

    WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tinyhttpd-bench.XXXXXX")
    mkdir -p "$WORK_DIR/logs" "$WORK_DIR/results"
    printf 'scenario\tname\tserver\tround\trequests\trps\tmbps\tp50_us\tp99_us\tcpu_us_per_req\terr_connect\terr_read\terr_write\terr_timeout\tnon2xx\tcpu_ticks\tprocs\n' \
        >"$WORK_DIR/results/runs.tsv"
    printf 'server\trss_before_kb\trss_after_kb\topened\tfailed\talive\tbytes_per_conn\n' \
        >"$WORK_DIR/results/memory.tsv"
    printf 'scenario\tname\tserver\tround\tload_requests\tload_rps\tload_mbps\tload_errors\tprobe_requests\tprobe_rps\tprobe_p50_us\tprobe_p99_us\tprobe_max_us\tprobe_errors\tcpu_us_per_req\tcached_before_pct\tcached_after_pct\twraps\tprocs\n' \
        >"$WORK_DIR/results/dual.tsv"
    printf 'scenario\tserver\tround\tencoding\n' >"$WORK_DIR/results/encodings.tsv"
    printf 'round\tstatus\tms\tbytes\tencoding\n' >"$WORK_DIR/results/coldfirst.tsv"

    build_tinyhttpd
    make_docroot
    make_docroot_extra

    # Servers to run, in the order given; missing ones are skipped with a note.
    local -a servers=() s
    for s in $SERVERS; do
        if [[ -n ${SKIP[$s]:-} ]]; then
            note "skipping $s: ${SKIP[$s]}"
        elif ! server_installed "$s"; then
            note "skipping $s: not installed"
        else
            servers+=("$s")
        fi
    done
    ((${#servers[@]})) || die "no server to benchmark"

    local -a tput=() tls=() sc
    local mem=0
    for sc in $SCENARIOS; do
        case $sc in
            1 | 2 | 3 | 4) tput+=("$sc") ;;
            7) if (($(nproc) < 2)); then note "scenario 7 on $(nproc) CPU: the two server processes share it"; fi
               tput+=(7) ;;
            5) if ((NOFILE < 1100)); then note "skipping scenario 5: fd limit $NOFILE < 1100"; else tput+=(5); fi ;;
            6) if ((NOFILE < IDLE_CONNS + 100)); then
                   note "scenario 6: fd limit $NOFILE is low for $IDLE_CONNS connections"
               fi
               mem=1 ;;
            8) [[ -n ${SKIP_SC[8]:-} ]] || tput+=(8) ;;
            9 | 11) tput+=("$sc") ;;
            10) tput+=(10a 10b) ;;
            12 | 13 | 14 | 15) tls+=("$sc") ;;
            *) die "unknown scenario '$sc' (valid: 1-15, or ALL)" ;;
        esac
    done
    if selected 8 || selected 9 || selected 11; then
        local f
        for f in threads compress-level compress-cache-bytes no-compress; do
            tiny_has_flag "--$f" || note "tinyhttpd has no --$f flag yet; its runs use the defaults it has"
        done
    fi

    log "servers: ${servers[*]}; scenarios: $SCENARIOS; rounds: $ROUNDS; duration: $DURATION" \
        "(+${WARMUP}s warm-up); server CPU $SERVER_CPU, wrk CPU $CLIENT_CPU (scenario 7: unpinned);" \
        "fd limit $NOFILE"

    local round i n
    local -a labels
    for ((round = 1; round <= ROUNDS; round++)); do
        for sc in "${tput[@]}"; do
            # Scenarios 8-11 run their own set of server labels (e.g.
            # nginx-aio, tinyhttpd-nocomp); 1-7 run the servers as given.
            mapfile -t labels < <(labels_for "${sc%[ab]}")
            n=${#labels[@]}
            # Rotate which server goes first each round so no server always
            # runs right after the same neighbour.
            for ((i = 0; i < n; i++)); do
                s=${labels[(i + round - 1) % n]}
                [[ -z ${SKIP[${s%%-*}]:-} && -z ${SKIP[$s]:-} && -z ${SKIP[$s@${sc%[ab]}]:-} ]] || continue
                case $sc in
                    8 | 11) measure_dual "$sc" "$s" "$round" ;;
                    *) measure_run "$sc" "$s" "$round" ;;
                esac
                if [[ $sc == 9 && $s == tinyhttpd ]]; then
                    cold_first_request "$round"
                fi
            done
        done
    done

    # The HTTPS scenarios have their own script (same certificate for every server).
    if ((${#tls[@]})); then
        SCENARIOS="${tls[*]}" DURATION=$DURATION SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU \
            bash "$LOAD_DIR/bench_tls.sh" | tee "$WORK_DIR/results/tls.tsv"
    fi

    if ((mem)); then
        for s in "${servers[@]}"; do
            [[ -z ${SKIP[$s]:-} ]] || continue
            measure_memory "$s"
        done
    fi

    echo
    python3 "$LOAD_DIR/summarize.py" "$WORK_DIR/results/runs.tsv" "$WORK_DIR/results/memory.tsv" \
        "$WORK_DIR/results"
    for s in "${!SKIP[@]}"; do
        note "$s was skipped: ${SKIP[$s]}"
    done
    if [[ -n $OUT ]]; then
        log "raw results and logs will be kept in $OUT"
    fi
}

main "$@"
