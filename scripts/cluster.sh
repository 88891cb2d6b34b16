#!/usr/bin/env bash
# The platform as separate processes behind a real load balancer, on loopback: nginx in
# front (scripts/cluster/nginx.conf.template), two `metaverse api`, three `metaverse
# gateway` and one `metaverse consumer`, on the PostgreSQL, Redis and Kafka of
# scripts/services.sh.
#
#   scripts/cluster.sh up       start what is needed (a no-op when all of it runs); print the URL
#   scripts/cluster.sh down     stop every process of the cluster and its nginx
#   scripts/cluster.sh status   one line per process; exit 1 unless all of them run
#   scripts/cluster.sh restart NAME   stop one process as an upgrade does (SIGTERM: a
#                               gateway hands its spaces over first) and start it again
#
# The environment chooses where and what (defaults in brackets):
#   METAVERSE_CLUSTER_DIR    state, logs and pids [.services/cluster]
#   METAVERSE_CLUSTER_PORT   nginx's port, the one URL to open [8080; 0: any free port]
#   METAVERSE_CLUSTER_DB     its database on the services' PostgreSQL [metaverse_cluster]
#   METAVERSE_CLUSTER_GROUP  its consumer's Kafka group [metaverse-cluster]
# Other METAVERSE_* settings in the environment reach every process (say
# METAVERSE_LOG_LEVEL=debug). The backends take free ports, written with everything else
# `up` chose to $METAVERSE_CLUSTER_DIR/cluster.env.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLUSTER_DIR="$(mkdir -p "${METAVERSE_CLUSTER_DIR:-$SERVICES_DIR/cluster}" &&
    cd "${METAVERSE_CLUSTER_DIR:-$SERVICES_DIR/cluster}" && pwd -P)"
STATE="$CLUSTER_DIR/cluster.env"
LOGS="$CLUSTER_DIR/logs"
PIDS="$CLUSTER_DIR/pids"
NGINX_PREFIX="$CLUSTER_DIR/nginx"
NGINX_CONF="$NGINX_PREFIX/nginx.conf"
NGINX_PID="$NGINX_PREFIX/logs/nginx.pid"
NGINX=/usr/sbin/nginx
TEMPLATE="$ROOT/scripts/cluster/nginx.conf.template"

DEFAULT_PORT=8080
START_TIMEOUT_S=90
STOP_TIMEOUT_S=20 # a gateway drains its spaces for up to METAVERSE_DRAIN_TIMEOUT_S (10 s)

# name role: every process of the cluster, in start order.
ROLES=(api1:api api2:api gateway1:gateway gateway2:gateway gateway3:gateway consumer:consumer)

# Settings the cluster sets for every process; their METAVERSE_ aliases are removed from
# the inherited environment so that they can't override them.
OWN_SETTINGS=(PORT WS_PORT HEALTH_PORT DATABASE_URL REDIS_URL KAFKA_BROKER JWT_SECRET SERVICE_ID)

# State: the ports and URLs of the running cluster, read back by status, down and a
# second up (and by tests).

load_state() {
    [[ -f "$STATE" ]] || return 1
    # shellcheck source=/dev/null
    . "$STATE"
}

# free_ports N: N distinct TCP ports on 127.0.0.1 that nothing listens on now.
free_ports() {
    "$(python_bin)" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for sock in socks:
    sock.bind(("127.0.0.1", 0))
print(" ".join(str(sock.getsockname()[1]) for sock in socks))
EOF
}

port_var() { # port_var NAME: the state variable holding NAME's port
    echo "${1^^}_PORT"
}

# Processes.

# role_pid NAME: the pid of the cluster's NAME process if it runs (empty otherwise). The
# command line is checked, so a recycled pid is never taken for ours.
role_pid() {
    local name="$1" role="${2:-}" pid
    pid="$(read_pid "$PIDS/$name.pid")"
    pid_alive "$pid" || return 0
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    if [[ "$name" == nginx ]]; then
        [[ "$cmdline" == "nginx: master process "*" -c $NGINX_CONF "* ]] || return 0
    else
        [[ "$cmdline" == *" -m metaverse $role "* ]] || return 0
    fi
    echo "$pid"
}

# running: the names of the cluster's processes (nginx included) that run now.
running() {
    local entry name
    for entry in "${ROLES[@]}" nginx:nginx; do
        name="${entry%%:*}"
        [[ -n "$(role_pid "$name" "${entry#*:}")" ]] && echo "$name"
    done
    return 0
}

# start_role NAME ROLE: start `metaverse ROLE` in a session of its own (it outlives this
# script and the terminal), its output appended to logs/NAME.log.
start_role() {
    local name="$1" role="$2" port
    port="$(port_var "$name")"
    port="${!port}"
    local -a env=(
        "DATABASE_URL=$DATABASE_URL" "REDIS_URL=$REDIS_URL" "KAFKA_BROKER=$KAFKA_BROKER"
        "JWT_SECRET=$(cat "$CLUSTER_DIR/jwt_secret")" "SERVICE_ID=$name"
        "METAVERSE_HOST=127.0.0.1" "METAVERSE_DATA_DIR=$CLUSTER_DIR/data"
        "METAVERSE_PUBLIC_URL=$URL" "METAVERSE_GATEWAY_URL=${URL/http:/ws:}/ws"
        "METAVERSE_WS_ORIGINS=$URL,http://localhost:$NGINX_PORT"
        "METAVERSE_FORWARDED_ALLOW_IPS=127.0.0.1" "METAVERSE_CONSUMER_GROUP=$GROUP"
    )
    case "$role" in
    api) env+=("PORT=$port") ;;
    gateway) env+=("WS_PORT=$port") ;;
    consumer) env+=("HEALTH_PORT=$port") ;;
    esac
    # The demo set is seeded by one API: two seeding at once would race.
    [[ "$name" == api1 ]] || env+=("METAVERSE_SEED_DEMO=false")
    local -a unset=()
    local setting
    for setting in "${OWN_SETTINGS[@]}"; do unset+=(-u "METAVERSE_$setting"); done
    # The working directory is the cluster's, so no stray .env file is read.
    (cd "$CLUSTER_DIR" && exec env "${unset[@]}" "${env[@]}" setsid "$PYTHON" -m metaverse "$role" \
        >>"$LOGS/$name.log" 2>&1 </dev/null 9>&-) &
    echo $! >"$PIDS/$name.pid"
}

start_nginx() {
    mkdir -p "$NGINX_PREFIX/logs" "$NGINX_PREFIX/temp"
    local -a values=(-e "s/@PORT@/$NGINX_PORT/g")
    local name
    for name in api1 api2 gateway1 gateway2 gateway3; do
        local var
        var="$(port_var "$name")"
        values+=(-e "s/@${var}@/${!var}/g")
    done
    sed "${values[@]}" "$TEMPLATE" >"$NGINX_CONF.tmp"
    ! grep -n '@[A-Z0-9_]*@' "$NGINX_CONF.tmp" >&2 || die "$TEMPLATE has a placeholder cluster.sh does not fill"
    mv -f "$NGINX_CONF.tmp" "$NGINX_CONF"
    # -e: the error log before the config is read (the default is under /var/log/nginx).
    local -a nginx=("$NGINX" -p "$NGINX_PREFIX/" -c "$NGINX_CONF" -e "$NGINX_PREFIX/logs/error.log")
    if ! "${nginx[@]}" -t -q >>"$LOGS/nginx.log" 2>&1; then
        tail -n 20 "$LOGS/nginx.log" >&2
        die "nginx rejected $NGINX_CONF"
    fi
    rm -f "$NGINX_PID"
    # nginx daemonises itself and writes its master's pid to logs/nginx.pid.
    "${nginx[@]}" >>"$LOGS/nginx.log" 2>&1 </dev/null 9>&- ||
        die "nginx failed to start on 127.0.0.1:$NGINX_PORT (log: $NGINX_PREFIX/logs/error.log)"
    local deadline=$((SECONDS + 10))
    until [[ -s "$NGINX_PID" ]]; do
        ((SECONDS < deadline)) || die "nginx wrote no pid file (log: $NGINX_PREFIX/logs/error.log)"
        sleep 0.1
    done
    cp "$NGINX_PID" "$PIDS/nginx.pid"
}

http_ok() { # http_ok URL: a 2xx answer within 2 s
    curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

ready_url() { # ready_url NAME: where NAME says it is ready
    local var
    var="$(port_var "$1")"
    case "$1" in
    nginx) echo "$URL/readyz" ;; # through nginx, to an API
    gateway*) echo "http://127.0.0.1:${!var}/healthz" ;;
    *) echo "http://127.0.0.1:${!var}/readyz" ;;
    esac
}

log_of() {
    if [[ "$1" == nginx ]]; then echo "$NGINX_PREFIX/logs/error.log"; else echo "$LOGS/$1.log"; fi
}

# wait_ready: until every process answers its readiness check; one that exits or stays
# unready fails the start, with its log.
wait_ready() {
    local deadline=$((SECONDS + START_TIMEOUT_S)) entry name
    local -a pending=()
    for entry in "${ROLES[@]}" nginx:nginx; do pending+=("$entry"); done
    while ((${#pending[@]})); do
        local -a still=()
        for entry in "${pending[@]}"; do
            name="${entry%%:*}"
            # The pid itself: a process just started may not have exec'd its command yet.
            if ! pid_alive "$(read_pid "$PIDS/$name.pid")"; then
                tail -n 30 "$(log_of "$name")" >&2 || true
                warn "$name exited during start (log: $(log_of "$name"))"
                return 1
            fi
            http_ok "$(ready_url "$name")" || still+=("$entry")
        done
        pending=("${still[@]+"${still[@]}"}")
        ((${#pending[@]})) || break
        if ((SECONDS >= deadline)); then
            for entry in "${pending[@]}"; do
                name="${entry%%:*}"
                tail -n 30 "$(log_of "$name")" >&2 || true
                warn "$name not ready within $START_TIMEOUT_S s (log: $(log_of "$name"))"
            done
            return 1
        fi
        sleep 0.2
    done
}

# stop_all: SIGTERM to every running process at once (nginx first, so no request reaches
# a process on its way out), then SIGKILL to any still running after STOP_TIMEOUT_S.
stop_all() {
    local entry name pid
    local -a pids=()
    for entry in nginx:nginx "${ROLES[@]}"; do
        name="${entry%%:*}"
        pid="$(role_pid "$name" "${entry#*:}")"
        if [[ -n "$pid" ]]; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
        rm -f "$PIDS/$name.pid"
    done
    local deadline=$((SECONDS + STOP_TIMEOUT_S))
    for pid in "${pids[@]+"${pids[@]}"}"; do
        while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if pid_alive "$pid"; then
            warn "pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)) did not stop within $STOP_TIMEOUT_S s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${pids[@]+"${pids[@]}"}"; do
        while pid_alive "$pid"; do sleep 0.1; done
    done
}

# Set-up: services, database, secret, ports.

ensure_services() {
    bash "$ROOT/scripts/services.sh" up || die "the services did not start (scripts/services.sh status)"
    # shellcheck source=/dev/null
    . "$SERVICES_DIR/env"
    local var
    for var in METAVERSE_TEST_DATABASE_URL METAVERSE_TEST_REDIS_URL METAVERSE_TEST_KAFKA_BROKER; do
        [[ -n "${!var:-}" ]] || die "$var is not in $SERVICES_DIR/env: the cluster needs PostgreSQL, Redis and Kafka"
    done
}

ensure_database() {
    [[ "$DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "METAVERSE_CLUSTER_DB must be a plain lower-case name, not '$DB'"
    local admin="${METAVERSE_TEST_DATABASE_URL/postgresql+asyncpg:/postgresql:}"
    admin="${admin%/*}/postgres"
    local psql
    psql="$(command -v psql || printf '%s\n' /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)"
    PGCONNECT_TIMEOUT=5 "$psql" -X -Atq -v ON_ERROR_STOP=1 "$admin" >/dev/null <<EOF ||
SELECT 'CREATE DATABASE $DB' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB') \gexec
EOF
        die "could not create the database $DB"
}

ensure_secret() {
    local secret="$CLUSTER_DIR/jwt_secret"
    [[ -s "$secret" ]] && return 0
    (umask 077 && head -c 48 /dev/urandom | base64 -w 0 >"$secret.tmp" && mv "$secret.tmp" "$secret")
}

write_state() {
    local -a ports
    read -r -a ports <<<"$(free_ports 7)"
    NGINX_PORT="${METAVERSE_CLUSTER_PORT:-$DEFAULT_PORT}"
    if [[ "$NGINX_PORT" == 0 ]]; then
        NGINX_PORT="${ports[6]}"
    elif port_open "$NGINX_PORT"; then
        die "port $NGINX_PORT is taken; choose another with METAVERSE_CLUSTER_PORT (0: any free one)"
    fi
    URL="http://127.0.0.1:$NGINX_PORT"
    DATABASE_URL="${METAVERSE_TEST_DATABASE_URL%/*}/$DB"
    cat >"$STATE.tmp" <<EOF
URL=$URL
NGINX_PORT=$NGINX_PORT
API1_PORT=${ports[0]}
API2_PORT=${ports[1]}
GATEWAY1_PORT=${ports[2]}
GATEWAY2_PORT=${ports[3]}
GATEWAY3_PORT=${ports[4]}
CONSUMER_PORT=${ports[5]}
DATABASE_URL=$DATABASE_URL
REDIS_URL=$METAVERSE_TEST_REDIS_URL
KAFKA_BROKER=$METAVERSE_TEST_KAFKA_BROKER
GROUP=$GROUP
EOF
    mv -f "$STATE.tmp" "$STATE"
    load_state
}

announce() {
    echo "metaverse cluster: open $URL"
    echo "  nginx, 2 APIs, 3 gateways, 1 consumer; ports in $STATE, logs in $LOGS; stop with scripts/cluster.sh down"
}

# Commands.

up() {
    local -a up_now
    mapfile -t up_now < <(running)
    if ((${#up_now[@]} == ${#ROLES[@]} + 1)) && load_state; then
        announce
        return 0
    fi
    if ((${#up_now[@]})); then
        warn "the cluster runs only in part (${up_now[*]}): restarting all of it"
        stop_all
    fi
    command -v curl >/dev/null || apt_install curl
    bash "$ROOT/scripts/nginx.sh" install
    PYTHON="$(python_bin)"
    "$PYTHON" -c 'import metaverse' 2>/dev/null ||
        die "metaverse is not installed in $ROOT/.venv: run make venv (or make cluster)"
    ensure_services
    ensure_database
    ensure_secret
    write_state
    mkdir -p "$LOGS" "$PIDS" "$CLUSTER_DIR/data"

    local -a env=("DATABASE_URL=$DATABASE_URL" "JWT_SECRET=$(cat "$CLUSTER_DIR/jwt_secret")")
    if ! (cd "$CLUSTER_DIR" && env -u METAVERSE_DATABASE_URL "${env[@]}" \
        "$PYTHON" -m metaverse migrate >"$LOGS/migrate.log" 2>&1 </dev/null); then
        tail -n 30 "$LOGS/migrate.log" >&2
        die "metaverse migrate failed (log: $LOGS/migrate.log)"
    fi
    # From here on a failed start stops whatever it started.
    trap 'warn "the cluster did not start; stopping what it started"; stop_all' EXIT
    local entry
    for entry in "${ROLES[@]}"; do
        start_role "${entry%%:*}" "${entry#*:}"
    done
    start_nginx
    wait_ready || exit 1
    trap - EXIT
    announce
}

down() {
    stop_all
}

restart() {
    local name="${1:-}" entry role="" pid
    for entry in "${ROLES[@]}"; do
        [[ "${entry%%:*}" == "$name" ]] && role="${entry#*:}"
    done
    [[ -n "$role" ]] || die "restart what? one of: ${ROLES[*]%%:*}"
    load_state || die "the cluster is not up (scripts/cluster.sh up)"
    PYTHON="$(python_bin)"
    pid="$(role_pid "$name" "$role")"
    if [[ -n "$pid" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT_S))
        while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        if pid_alive "$pid"; then
            warn "$name did not stop within $STOP_TIMEOUT_S s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while pid_alive "$pid"; do sleep 0.1; done
        fi
    fi
    start_role "$name" "$role"
    local ready=$((SECONDS + START_TIMEOUT_S))
    until http_ok "$(ready_url "$name")"; do
        pid_alive "$(read_pid "$PIDS/$name.pid")" || die "$name exited during start (log: $(log_of "$name"))"
        ((SECONDS < ready)) || die "$name not ready within $START_TIMEOUT_S s (log: $(log_of "$name"))"
        sleep 0.2
    done
    echo "$name restarted"
}

status() {
    local entry name pid var rc=0
    load_state || true
    for entry in "${ROLES[@]}" nginx:nginx; do
        name="${entry%%:*}"
        pid="$(role_pid "$name" "${entry#*:}")"
        var="$(port_var "$name")"
        if [[ -n "$pid" ]]; then
            echo "$name: up (pid $pid, port ${!var:-?})"
        else
            echo "$name: down"
            rc=1
        fi
    done
    ((rc)) || echo "open ${URL:-?}"
    return "$rc"
}

mkdir -p "$CLUSTER_DIR"
DB="${METAVERSE_CLUSTER_DB:-metaverse_cluster}"
GROUP="${METAVERSE_CLUSTER_GROUP:-metaverse-cluster}"
case "${1:-}" in
up | down)
    # One up or down at a time per cluster directory. The processes started don't inherit
    # the lock's descriptor (9), or they would hold it for as long as they run.
    exec 9>"$CLUSTER_DIR/.lock"
    flock 9
    "$1"
    ;;
status) status ;;
restart)
    exec 9>"$CLUSTER_DIR/.lock"
    flock 9
    restart "${2:-}"
    ;;
*) die "usage: $0 up|down|status|restart NAME" ;;
esac
