#!/usr/bin/env bash
# Soak test: mixed traffic at a steady rate against the release binary for SOAK_SECONDS,
# with the access log on and short timeouts; samples the server's RSS and open fds every
# 10 s, probes it once a second, checks its sockets go back to the starting count once the
# clients leave, prints a report and a verdict. Exit status 1 on FAIL, 2 on a setup error.
#
#   bash load/soak.sh                        # ten minutes
#   bash load/soak.sh --seconds 180          # or SOAK_SECONDS=180 bash load/soak.sh
#
# See load/README.md ("Soak test") for the traffic, the variables and the report.
# Everything stays on 127.0.0.1; every loop is bounded; a trap stops what it started.

set -euo pipefail

LOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$LOAD_DIR")

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-800}           # requests per second, all client kinds together
SOAK_SLOW=${SOAK_SLOW:-4}             # concurrent slow clients
SOAK_WARMUP=${SOAK_WARMUP:-60}        # seconds left out of the RSS slope
SOAK_MAX_SLOPE=${SOAK_MAX_SLOPE:-32}  # KiB/min of RSS growth after the warm-up that fails
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
TINYHTTPD_BIN=${TINYHTTPD_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/tinyhttpd}
SOAK_SMALL_FILES=${SOAK_SMALL_FILES:-1500}  # files under /s/; over 1024 fills the file cache
SOAK_ACCESS_LOG=${SOAK_ACCESS_LOG:-on}      # "off" runs without the access log (to compare)
OUT=${OUT:-}                          # keep the work dir (log, samples, smaps) here

# Short server timeouts, so slow and stalled clients are cut off within the run.
HEAD_TIMEOUT=2
BODY_TIMEOUT=2
KEEPALIVE_TIMEOUT=5
SEND_TIMEOUT=3
DRAIN_TIMEOUT=2

log() { printf '[soak] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

while (($#)); do
    case $1 in
        --seconds) SOAK_SECONDS=${2:?--seconds needs a value}; shift 2 ;;
        --seconds=*) SOAK_SECONDS=${1#*=}; shift ;;
        --rate) SOAK_RATE=${2:?--rate needs a value}; shift 2 ;;
        --rate=*) SOAK_RATE=${1#*=}; shift ;;
        -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $SOAK_SECONDS =~ ^[0-9]+$ ]] && ((SOAK_SECONDS >= 10)) || die "SOAK_SECONDS must be a whole number >= 10"
command -v python3 >/dev/null || die "python3 is needed"

# Pin with taskset when it exists and the CPU does; otherwise run unpinned.
pin() {
    local cpu=$1
    if command -v taskset >/dev/null && taskset -c "$cpu" true 2>/dev/null; then
        echo "taskset -c $cpu"
    fi
}
SERVER_PIN=$(pin "$SERVER_CPU")
CLIENT_PIN=$(pin "$CLIENT_CPU")

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tinyhttpd-soak.XXXXXX")
SERVER_PID=""
PROBE_PID=""

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
    stop_pid "$PROBE_PID"
    stop_pid "$SERVER_PID"
    if [[ -n $OUT ]]; then
        mkdir -p "$OUT" && cp -r "$WORK_DIR"/. "$OUT"/ && log "work files kept in $OUT"
    fi
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ $SKIP_BUILD != 1 ]]; then
    log "cargo build --release"
    (cd "$REPO_DIR" && cargo build --release --quiet) || die "build failed"
fi
[[ -x $TINYHTTPD_BIN ]] || die "no binary at $TINYHTTPD_BIN"

python3 "$LOAD_DIR/soak_load.py" --make-root "$WORK_DIR/root" --small-files "$SOAK_SMALL_FILES"

LOG_ARGS=(--access-log "$WORK_DIR/access.log")
if [[ $SOAK_ACCESS_LOG == off ]]; then
    LOG_ARGS=()
fi

# shellcheck disable=SC2086  # $SERVER_PIN is a command prefix or nothing
$SERVER_PIN "$TINYHTTPD_BIN" --port 0 --bind 127.0.0.1 --root "$WORK_DIR/root" \
    "${LOG_ARGS[@]}" \
    --head-timeout "$HEAD_TIMEOUT" --body-timeout "$BODY_TIMEOUT" \
    --keepalive-timeout "$KEEPALIVE_TIMEOUT" --send-timeout "$SEND_TIMEOUT" \
    --drain-timeout "$DRAIN_TIMEOUT" >"$WORK_DIR/server.out" 2>&1 &
SERVER_PID=$!

PORT=""
for ((i = 0; i < 50; i++)); do
    PORT=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$WORK_DIR/server.out")
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -n $PORT ]] || die "server did not start: $(cat "$WORK_DIR/server.out")"
log "server pid $SERVER_PID on 127.0.0.1:$PORT (${SERVER_PIN:-unpinned}), access log $SOAK_ACCESS_LOG;" \
    "load ${CLIENT_PIN:-unpinned}; $SOAK_SECONDS s at $SOAK_RATE req/s, $SOAK_SLOW slow clients"

cp "/proc/$SERVER_PID/smaps_rollup" "$WORK_DIR/smaps_start.txt"
cp "/proc/$SERVER_PID/smaps" "$WORK_DIR/smaps_start_full.txt"

# The probe is left unpinned: it measures the server, not the load's CPU.
python3 "$LOAD_DIR/soak_probe.py" --port "$PORT" --seconds "$SOAK_SECONDS" \
    --out "$WORK_DIR/probe.json" &
PROBE_PID=$!

# shellcheck disable=SC2086
$CLIENT_PIN python3 "$LOAD_DIR/soak_load.py" --port "$PORT" --pid "$SERVER_PID" \
    --seconds "$SOAK_SECONDS" --rate "$SOAK_RATE" --slow "$SOAK_SLOW" \
    --head-timeout "$HEAD_TIMEOUT" --send-timeout "$SEND_TIMEOUT" --out "$WORK_DIR" \
    --small-files "$SOAK_SMALL_FILES" ||
    die "the load generator failed"
wait "$PROBE_PID" || log "the probe exited with status $?"
PROBE_PID=""

ALIVE=no
if kill -0 "$SERVER_PID" 2>/dev/null; then
    ALIVE=yes
    cp "/proc/$SERVER_PID/smaps_rollup" "$WORK_DIR/smaps_end.txt"
    cp "/proc/$SERVER_PID/smaps" "$WORK_DIR/smaps_end_full.txt"
fi

status=0
python3 "$LOAD_DIR/soak_report.py" "$WORK_DIR" --warmup "$SOAK_WARMUP" \
    --max-slope "$SOAK_MAX_SLOPE" --access-log "$WORK_DIR/access.log" \
    --server-alive "$ALIVE" || status=$?
exit "$status"
