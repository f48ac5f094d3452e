#!/usr/bin/env bash
# Cluster test: three tinyhttpd replicas behind HAProxy (health checks on /healthz, PROXY
# protocol v2), under a steady wrk load through HAProxy in each phase:
#   1 etag     every file has the same ETag on all replicas; If-None-Match with one
#              replica's ETag is 304 from the others
#   2 rolling  SIGTERM a replica, wait for its exit, start it again, wait until HAProxy has
#              it UP, next: no socket error and no error status at all
#   3 client   the replicas log the real client (a client bound to 127.0.0.9), not HAProxy
#   4 sigkill  SIGKILL a replica: at most the requests in flight fail, HAProxy marks it DOWN
#              within inter x fall, and sends it nothing afterwards (4b: a run after that)
# Prints one table (requests, errors, longest latency, verdict per phase); exit 1 on FAIL,
# 2 on a setup error. About 40 s after the build. Only 127.0.0.0/8; a trap stops everything.
#
#   bash load/cluster.sh
#   OUT=/tmp/cluster bash load/cluster.sh     # keep configs and logs
#   HAPROXY_RETRIES=off SHUTDOWN_DELAY=0 bash load/cluster.sh   # experiments (README)
#
# See load/README.md ("Cluster test").

set -euo pipefail

LOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$LOAD_DIR")
TOOL=(python3 "$LOAD_DIR/cluster_tool.py")

SKIP_BUILD=${SKIP_BUILD:-0}
TINYHTTPD_BIN=${TINYHTTPD_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/tinyhttpd}
OUT=${OUT:-}
CONNS=${CONNS:-16}                 # wrk connections, so also the most requests in flight
WRK_TIMEOUT=3                      # s; a response slower than this is a wrk timeout error
CHECK_INTER_MS=500                 # HAProxy: check every 500 ms,
FALL=2                             # DOWN after 2 failed checks,
RISE=2                             # UP after 2 good ones
SHUTDOWN_DELAY=${SHUTDOWN_DELAY:-2}  # s; above inter x fall = 1 s, so HAProxy is out first
HAPROXY_RETRIES=${HAPROXY_RETRIES:-on} # "off": no retries, to see what the replicas alone do
DRAIN_TIMEOUT=5                    # s; far above any response here
DOWN_SLACK_MS=250                  # phase 4: allowed beyond inter x fall (poll, scheduling)
PROBE_SRC=127.0.0.9                # phase 3's client address
PROBE_AGENT=cluster-probe
PROBES=30                          # 3 replicas missed by 30 round-robin requests: ~1e-5

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tinyhttpd-cluster.XXXXXX")
declare -a PIDS=("" "" "" "")
HAPROXY_PID=""
WRK_PID=""

stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local i
    stop_pid "$WRK_PID"
    stop_pid "$HAPROXY_PID"
    for i in 1 2 3; do
        # Twice: the first SIGTERM only starts the shutdown delay.
        [[ -n ${PIDS[i]} ]] && kill -TERM "${PIDS[i]}" 2>/dev/null && kill -TERM "${PIDS[i]}" 2>/dev/null
        stop_pid "${PIDS[i]}"
    done
    if [[ -n $OUT ]]; then
        mkdir -p "$OUT" && cp -r "$WORK_DIR"/. "$OUT"/ && log "work files kept in $OUT"
    fi
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ------------------------------------------------------------------------------------
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
    log "installing ${need[*]} from the distribution"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >&2 ||
        die "apt-get install ${need[*]} failed"
    # Debian starts the packaged service; ours runs from the temp dir.
    if [[ " ${need[*]} " == *" haproxy "* ]] && command -v systemctl >/dev/null; then
        systemctl stop haproxy 2>/dev/null || true
    fi
fi
command -v python3 >/dev/null || die "python3 is needed"

if [[ $SKIP_BUILD != 1 ]]; then
    log "cargo build --release"
    (cd "$REPO_DIR" && cargo build --release --quiet) || die "build failed"
fi
[[ -x $TINYHTTPD_BIN ]] || die "no binary at $TINYHTTPD_BIN"

# --- the site, three copies ---------------------------------------------------------------------
FILES=(/ /index.html /1k.bin /100k.bin)
mkdir -p "$WORK_DIR/site" "$WORK_DIR/logs"
printf '<!doctype html>\n<title>cluster</title>\n<p>replica test page</p>\n' >"$WORK_DIR/site/index.html"
head -c 1024 /dev/urandom >"$WORK_DIR/site/1k.bin"
head -c 102400 /dev/urandom >"$WORK_DIR/site/100k.bin"
touch -d '2026-01-01 00:00:00 UTC' "$WORK_DIR"/site/*
for i in 1 2 3; do
    cp -a "$WORK_DIR/site" "$WORK_DIR/r$i"
done

mapfile -t PORTS < <("${TOOL[@]}" ports 4)
FRONT_PORT=${PORTS[0]}
declare -a RPORT=("" "${PORTS[1]}" "${PORTS[2]}" "${PORTS[3]}")
STATS_SOCK=$WORK_DIR/haproxy.sock
FRONT_URL=http://127.0.0.1:$FRONT_PORT

# --- replicas -----------------------------------------------------------------------------------
start_replica() {
    local i=$1 n
    "$TINYHTTPD_BIN" --bind 127.0.0.1 --port "${RPORT[i]}" --root "$WORK_DIR/r$i" \
        --health-path /healthz --shutdown-delay "$SHUTDOWN_DELAY" --drain-timeout "$DRAIN_TIMEOUT" \
        --proxy-protocol --trusted-proxy 127.0.0.1/32 \
        --access-log "$WORK_DIR/logs/r$i.access.log" \
        >>"$WORK_DIR/logs/r$i.out" 2>>"$WORK_DIR/logs/r$i.err" &
    PIDS[i]=$!
    for ((n = 0; n < 100; n++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --haproxy-protocol \
            "http://127.0.0.1:${RPORT[i]}/healthz") == 200 ]] && return 0
        kill -0 "${PIDS[i]}" 2>/dev/null || break
        sleep 0.05
    done
    die "replica r$i did not start: $(tail -3 "$WORK_DIR/logs/r$i.err")"
}

for i in 1 2 3; do start_replica "$i"; done

# --- HAProxy ------------------------------------------------------------------------------------
# Retries: a request HAProxy sent just as a replica closed the connection (a kill, a drain that
# closes idle keep-alive connections) gets no response; GET is idempotent, so HAProxy may send
# it again: retry-on conn-failure (refused, reset on connect), empty-response (closed before any
# byte of a response) and response-timeout. "redispatch 1" sends every retry to another server
# at once, instead of waiting min(timeout connect, 1 s) and trying the same one again.
# http-reuse safe (the default): a client's first request never goes on a connection another
# client used, so a server closing an idle connection can hurt only a client's later requests,
# and those are retried as above. The shutdown delay makes the race moot for restarts: HAProxy
# stops choosing the replica on its failing check before the replica closes anything.
RETRY_CFG="retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout"
[[ $HAPROXY_RETRIES == off ]] && RETRY_CFG="retries 0"
cat >"$WORK_DIR/haproxy.cfg" <<EOF
global
    nbthread 1
    stats socket $STATS_SOCK mode 600 level admin
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    option dontlog-normal
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    timeout http-keep-alive 10s
    $RETRY_CFG

frontend web
    bind 127.0.0.1:$FRONT_PORT
    default_backend replicas

backend replicas
    balance roundrobin
    http-reuse safe
    option httpchk GET /healthz
    http-check expect status 200
    default-server send-proxy-v2 check-send-proxy check inter ${CHECK_INTER_MS}ms fall $FALL rise $RISE
    server r1 127.0.0.1:${RPORT[1]}
    server r2 127.0.0.1:${RPORT[2]}
    server r3 127.0.0.1:${RPORT[3]}
EOF
haproxy -c -q -f "$WORK_DIR/haproxy.cfg" || die "haproxy rejects its config"
haproxy -db -f "$WORK_DIR/haproxy.cfg" >"$WORK_DIR/logs/haproxy.log" 2>&1 &
HAPROXY_PID=$!
for ((n = 0; n < 100; n++)); do
    [[ -S $STATS_SOCK ]] && break
    sleep 0.05
done
for i in 1 2 3; do
    "${TOOL[@]}" wait "$STATS_SOCK" "r$i" UP 5 >/dev/null || die "HAProxy never saw r$i UP"
done
log "HAProxy pid $HAPROXY_PID on $FRONT_URL; replicas r1-r3 on ${RPORT[1]} ${RPORT[2]} ${RPORT[3]}"

# --- wrk ----------------------------------------------------------------------------------------
# wrk runs in the background for at most 60 s; SIGINT ends it early and it still reports.
start_wrk() {
    local name=$1 secs=${2:-60}
    RETRIED_BEFORE=$("${TOOL[@]}" totals "$STATS_SOCK")
    wrk -t1 -c"$CONNS" -d"${secs}s" --timeout "${WRK_TIMEOUT}s" -s "$LOAD_DIR/report.lua" \
        "$FRONT_URL/1k.bin" >"$WORK_DIR/logs/wrk_$name.out" 2>&1 &
    WRK_PID=$!
    sleep 0.5 # let every connection get going before anything happens
}

stop_wrk() {
    kill -INT "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" || true
    WRK_PID=""
}

# The phase's wrk figures: requests socket_errors non2xx max_ms.
wrk_figures() {
    local line
    line=$(grep '^REPORT ' "$WORK_DIR/logs/wrk_$1.out") || die "wrk $1 printed no report"
    python3 - "$line" <<'EOF'
import sys
kv = dict(f.split("=", 1) for f in sys.argv[1].split()[1:])
sock = sum(int(kv[k]) for k in ("err_connect", "err_read", "err_write", "err_timeout"))
print(kv["requests"], sock, kv["non2xx"], f"{int(kv['max_us']) / 1000:.1f}")
EOF
}

declare -a T_PHASE=() T_REQ=() T_SOCK=() T_NON2XX=() T_MAX=() T_RETRIED=() T_VERDICT=() T_NOTE=()
FAILED=0
# HAProxy's retries and redispatches during the phase: requests it saved from an error.
retried_since_start() {
    local b n
    read -r -a b <<<"$RETRIED_BEFORE"
    read -r -a n <<<"$("${TOOL[@]}" totals "$STATS_SOCK")"
    echo "$((n[0] - b[0]))/$((n[1] - b[1]))"
}
record() { # phase wrk-name verdict note
    local figs retried
    read -r -a figs <<<"$(wrk_figures "$2")"
    retried=$(retried_since_start)
    T_PHASE+=("$1") T_REQ+=("${figs[0]}") T_SOCK+=("${figs[1]}") T_NON2XX+=("${figs[2]}")
    T_MAX+=("${figs[3]}") T_RETRIED+=("$retried") T_VERDICT+=("$3") T_NOTE+=("$4")
    [[ $3 == PASS ]] || FAILED=1
    log "phase $1: requests ${figs[0]}, socket errors ${figs[1]}, non-2xx ${figs[2]}," \
        "max ${figs[3]} ms, HAProxy retries/redispatches $retried: $3${4:+ ($4)}"
}
errors_of() { local f; read -r -a f <<<"$(wrk_figures "$1")"; echo $((f[1] + f[2])); }

# --- phase 1: ETags -----------------------------------------------------------------------------
etag_of() { # replica path [If-None-Match] -> "status etag"
    local args=(-s -o /dev/null --haproxy-protocol -D - "http://127.0.0.1:${RPORT[$1]}$2")
    [[ -n ${3:-} ]] && args+=(-H "If-None-Match: $3")
    curl "${args[@]}" | tr -d '\r' | awk 'NR == 1 { s = $2 } tolower($1) == "etag:" { e = $2 }
        END { print s, (e == "" ? "-" : e) }'
}

start_wrk etag
p1_bad=0
for path in "${FILES[@]}"; do
    declare -a tags=("")
    for i in 1 2 3; do
        read -r status tag <<<"$(etag_of "$i" "$path")"
        tags+=("$tag")
        [[ $status == 200 && $tag != - ]] || { log "  r$i $path: status $status, ETag $tag"; p1_bad=1; }
    done
    same=yes
    [[ ${tags[1]} == "${tags[2]}" && ${tags[1]} == "${tags[3]}" ]] || { same=no; p1_bad=1; }
    log "  $path ETags: r1 ${tags[1]}  r2 ${tags[2]}  r3 ${tags[3]}  identical: $same"
    for i in 1 2 3; do
        for j in 1 2 3; do
            ((i == j)) && continue
            read -r status _ <<<"$(etag_of "$j" "$path" "${tags[i]}")"
            if [[ $status != 304 ]]; then
                log "  $path: If-None-Match r$i's ${tags[i]} -> r$j answered $status, not 304"
                p1_bad=1
            fi
        done
    done
done
sleep 1
stop_wrk
if ((p1_bad == 0 && $(errors_of etag) == 0)); then
    record 1-etag etag PASS "same ETags, 304 across replicas"
else
    record 1-etag etag FAIL "ETags differ between replicas or not 304 across them (see above)"
fi

# --- phase 2: rolling restart ---------------------------------------------------------------------
start_wrk rolling
p2_bad=0
p2_note=""
for i in 1 2 3; do
    t0=$(date +%s%N)
    kill -TERM "${PIDS[i]}"
    # Watch HAProxy in the background while waiting for the exit, so both times are right.
    "${TOOL[@]}" wait "$STATS_SOCK" "r$i" DOWN $((SHUTDOWN_DELAY + DRAIN_TIMEOUT)) "$t0" \
        >"$WORK_DIR/down_ms" &
    watcher=$!
    rc=0
    wait "${PIDS[i]}" || rc=$?
    exit_ms=$((($(date +%s%N) - t0) / 1000000))
    PIDS[i]=""
    wait "$watcher" || p2_bad=1
    down_ms=$(cat "$WORK_DIR/down_ms")
    ((rc == 0)) || { log "  r$i exited with status $rc"; p2_bad=1; }
    # HAProxy must have stopped choosing the replica before its drain closed anything.
    ((${down_ms:-99999} < SHUTDOWN_DELAY * 1000)) || { log "  r$i: not DOWN within the shutdown delay"; p2_bad=1; }
    t0=$(date +%s%N)
    start_replica "$i"
    up_ms=$("${TOOL[@]}" wait "$STATS_SOCK" "r$i" UP 10 "$t0") || die "HAProxy never saw r$i UP again"
    log "  r$i: DOWN in HAProxy ${down_ms:-?} ms after SIGTERM, exited after $exit_ms ms (status $rc)," \
        "UP again $up_ms ms after its restart"
    p2_note+="r$i ${down_ms:-?}/${exit_ms}/${up_ms} "
done
sleep 0.5
stop_wrk
if ((p2_bad == 0 && $(errors_of rolling) == 0)); then v=PASS; else v=FAIL; fi
record 2-rolling rolling "$v" "down/exit/up ms: ${p2_note% }"

# --- phase 3: the client address in the replicas' logs --------------------------------------------
start_wrk client
probe_out=$("${TOOL[@]}" client "$FRONT_PORT" "$PROBES" "$PROBE_SRC" "$PROBE_AGENT") || true
sleep 0.5
stop_wrk
sleep 0.3 # the access-log writer thread
p3_bad=0
[[ $probe_out == "ok=$PROBES failed=0" ]] || { log "  client from $PROBE_SRC: $probe_out"; p3_bad=1; }
while read -r line; do log "  $line"; done < <(
    "${TOOL[@]}" logcheck "$PROBE_AGENT" "$PROBE_SRC" 127.0.0.1 "$WORK_DIR"/logs/r{1,2,3}.access.log ||
        echo "FAILED"
)
"${TOOL[@]}" logcheck "$PROBE_AGENT" "$PROBE_SRC" 127.0.0.1 "$WORK_DIR"/logs/r{1,2,3}.access.log \
    >/dev/null || p3_bad=1
if ((p3_bad == 0 && $(errors_of client) == 0)); then v=PASS; else v=FAIL; fi
record 3-client client "$v" "$PROBES requests from $PROBE_SRC logged as $PROBE_SRC"

# --- phase 4: SIGKILL -----------------------------------------------------------------------------
start_wrk sigkill
sleep 0.5
t0=$(date +%s%N)
# Grouped with stderr closed: bash reports a child killed by a signal ("Killed") otherwise.
{
    kill -KILL "${PIDS[2]}"
    down_ms=$("${TOOL[@]}" wait "$STATS_SOCK" r2 DOWN 5 "$t0") || down_ms=-1
    wait "${PIDS[2]}" || true
} 2>/dev/null
PIDS[2]=""
stop_wrk
limit_ms=$((CHECK_INTER_MS * FALL + DOWN_SLACK_MS))
p4_errors=$(errors_of sigkill)
if ((down_ms >= 0 && down_ms <= limit_ms && p4_errors <= CONNS)); then v=PASS; else v=FAIL; fi
record 4-sigkill sigkill "$v" "DOWN after $down_ms ms (limit $limit_ms); errors <= $CONNS in flight"
before=$("${TOOL[@]}" counters "$STATS_SOCK" r2)
start_wrk after_down 2
wait "$WRK_PID" || true
WRK_PID=""
after=$("${TOOL[@]}" counters "$STATS_SOCK" r2)
log "  r2 counters at DOWN: $before; after 4b: $after"
# stot (sessions) and econ (connection errors) must not move: nothing was sent to r2.
if [[ $before == "$after" ]] && (($(errors_of after_down) == 0)); then v=PASS; else v=FAIL; fi
record 4b-after-down after_down "$v" "r2 got nothing after DOWN: ${after%% eresp*}"

# --- report ---------------------------------------------------------------------------------------
for i in 1 2 3; do
    [[ -n ${PIDS[i]} ]] && log "r$i counters: $("${TOOL[@]}" counters "$STATS_SOCK" "r$i")"
done
log "HAProxy logged $(grep -c . "$WORK_DIR/logs/haproxy.log" || true) abnormal requests (logs/haproxy.log)"
echo
echo "HAProxy retries: $HAPROXY_RETRIES; replicas' --shutdown-delay $SHUTDOWN_DELAY; wrk -c$CONNS on /1k.bin"
fmt='%-14s %9s %11s %7s %7s %11s  %-7s %s\n'
# shellcheck disable=SC2059  # the format is ours
printf "$fmt" phase requests socket_errs non2xx max_ms retr/redisp verdict notes
for k in "${!T_PHASE[@]}"; do
    # shellcheck disable=SC2059
    printf "$fmt" "${T_PHASE[k]}" "${T_REQ[k]}" "${T_SOCK[k]}" "${T_NON2XX[k]}" "${T_MAX[k]}" \
        "${T_RETRIED[k]}" "${T_VERDICT[k]}" "${T_NOTE[k]}"
done
echo
if ((FAILED)); then
    echo "VERDICT: FAIL"
    exit 1
fi
echo "VERDICT: PASS"
