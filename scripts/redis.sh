#!/usr/bin/env bash
# A throwaway Redis for the test suite on 127.0.0.1:${METAVERSE_TEST_REDIS_PORT:-56379},
# in memory only (no RDB snapshots, no AOF).
#
#   scripts/redis.sh start|stop|status
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT="${METAVERSE_TEST_REDIS_PORT:-56379}"
REDIS_DIR="$SERVICES_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

do_status() {
    command -v redis-cli >/dev/null || return 1
    [[ "$(cli ping 2>/dev/null)" == PONG ]]
}

write_conf() {
    mkdir -p "$REDIS_DIR"
    cat >"$REDIS_CONF" <<EOF
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $REDIS_PID
logfile $REDIS_LOG
dir $REDIS_DIR
save ""
appendonly no
databases 16
EOF
}

do_start() {
    do_status && return 0
    command -v redis-server >/dev/null || apt_install redis-server
    write_conf
    # daemonize forks and calls setsid, so the server outlives this script.
    redis-server "$REDIS_CONF" >/dev/null ||
        die "redis-server failed to start (log: $REDIS_LOG)"
    local deadline=$((SECONDS + 15))
    until do_status; do
        if ((SECONDS >= deadline)); then
            tail -n 20 "$REDIS_LOG" >&2 || true
            die "Redis did not answer PING on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
        fi
        sleep 0.1
    done
}

do_stop() {
    local pid
    pid="$(read_pid "$REDIS_PID")"
    if ! pid_alive "$pid"; then
        # No pid file of ours (e.g. started from another clone of the repo):
        # stop whatever redis-server listens on our port, by its pid.
        pid="$(port_owner "$REDIS_PORT")"
        [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server* ]] || return 0
    fi
    stop_pid "$pid" 10
    rm -f "$REDIS_PID"
}

dispatch "$@"
