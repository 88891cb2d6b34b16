#!/usr/bin/env bash
# The real services the integration tests need, each managed by its own
# script (scripts/postgres.sh, redis.sh, kafka.sh: start|stop|status).
#
#   scripts/services.sh up [--with-chromium]   start what isn't running, write .services/env
#   scripts/services.sh down                   stop them all
#   scripts/services.sh status                 one line per service; exit 1 if any is down
#
# `up` is idempotent and quick when everything already answers. With CI=true a
# service that can't be installed or started fails the run; otherwise it is
# left out of .services/env with a warning, and its tests skip.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVICES=(postgres redis kafka)
ENV_FILE="$SERVICES_DIR/env"

# env_line NAME: what tests need to reach the service (read by tests/services.py).
env_line() {
    local pg_url="postgresql+asyncpg://metaverse:metaverse@127.0.0.1:${METAVERSE_TEST_PG_PORT:-55432}"
    case "$1" in
    postgres) echo "export METAVERSE_TEST_DATABASE_URL=$pg_url/metaverse_test" ;;
    redis) echo "export METAVERSE_TEST_REDIS_URL=redis://127.0.0.1:${METAVERSE_TEST_REDIS_PORT:-56379}/0" ;;
    kafka) echo "export METAVERSE_TEST_KAFKA_BROKER=127.0.0.1:${METAVERSE_TEST_KAFKA_PORT:-59092}" ;;
    chromium) echo "export METAVERSE_TEST_CHROMIUM=/usr/bin/chromium" ;;
    esac
}

up() {
    local -a names=("${SERVICES[@]}")
    case "${1:-}" in
    "") ;;
    --with-chromium) names+=(chromium) ;;
    *) die "usage: $0 up [--with-chromium]" ;;
    esac

    # Kafka (a JVM start, and on a fresh machine a jar download) runs in the
    # background while the others start; apt calls serialise on a lock.
    declare -A pids
    local name
    for name in "${names[@]}"; do
        bash "$ROOT/scripts/$name.sh" start >"$SERVICES_DIR/$name.start.log" 2>&1 &
        pids[$name]=$!
        if [[ "$name" != kafka ]]; then
            if wait "${pids[$name]}"; then pids[$name]=ok; else pids[$name]=failed; fi
        fi
    done

    local failed=0 env
    env="$(mktemp "$SERVICES_DIR/env.XXXXXX")"
    for name in "${names[@]}"; do
        if [[ "${pids[$name]}" == ok ]] || { [[ "${pids[$name]}" != failed ]] && wait "${pids[$name]}"; }; then
            env_line "$name" >>"$env"
            continue
        fi
        cat "$SERVICES_DIR/$name.start.log" >&2
        if [[ "${CI:-}" == true ]]; then
            warn "error: $name could not be installed or started"
            failed=1
        else
            warn "warning: $name is not available; its tests will skip"
        fi
    done
    mv -f "$env" "$ENV_FILE"
    return "$failed"
}

down() {
    local name rc=0
    for name in kafka redis postgres; do
        bash "$ROOT/scripts/$name.sh" stop || rc=1
    done
    rm -f "$ENV_FILE"
    return "$rc"
}

status() {
    local name rc=0
    for name in "${SERVICES[@]}"; do
        if bash "$ROOT/scripts/$name.sh" status; then
            echo "$name: up"
        else
            echo "$name: down"
            rc=1
        fi
    done
    return "$rc"
}

case "${1:-}" in
up) up "${@:2}" ;;
down) down ;;
status) status ;;
*) die "usage: $0 up [--with-chromium]|down|status" ;;
esac
