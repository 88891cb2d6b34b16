#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite: 127.0.0.1:${METAVERSE_TEST_PG_PORT:-55432},
# role metaverse/metaverse (superuser: tests create databases), database metaverse_test.
#
#   scripts/postgres.sh start|stop|status
#
# Durability is switched off (fsync, full-page writes, synchronous commit): a
# crash may lose the cluster, which costs one initdb on the next start.
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT="${METAVERSE_TEST_PG_PORT:-55432}"
PG_ROLE=metaverse
PG_PASSWORD=metaverse
PG_DB=metaverse_test

# The server refuses to run as root, so as root it runs as the `postgres`
# account. That account must reach the data dir; where it can't traverse the
# repo (say a clone under a 0700 home), the cluster lives in /var/tmp instead,
# keyed by the repo path, with .services/postgres a symlink to it. We don't
# chmod the repo's parent dirs: they aren't ours to loosen.
if is_root; then
    PG_USER=postgres
    as_pg() { (cd / && runuser -u "$PG_USER" -- "$@"); }
else
    PG_USER="$(id -un)"
    as_pg() { (cd / && "$@"); }
fi

pick_base() {
    local local_base="$SERVICES_DIR/postgres"
    if ! is_root || [[ -d "$local_base" && ! -L "$local_base" ]] ||
        as_pg test -x "$SERVICES_DIR"; then
        PG_BASE="$local_base"
    else
        PG_BASE="/var/tmp/metaverse-pg-$(printf %s "$ROOT" | sha256sum | cut -c1-12)"
        ln -sfn "$PG_BASE" "$local_base"
    fi
    PG_DATA="$PG_BASE/data"
    PG_LOG="$PG_BASE/postgres.log"
    PG_SOCKET_DIR="$PG_BASE/run"
    # Unix socket paths are limited to 107 bytes; a deep clone falls back to /tmp.
    if ((${#PG_SOCKET_DIR} > 90)); then
        PG_SOCKET_DIR="/tmp/metaverse-pg-$(printf %s "$ROOT" | sha256sum | cut -c1-12)"
    fi
}

# newest_bin: the newest installed server's bin dir (bookworm ships 15).
newest_bin() { printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

find_bin() {
    PG_BIN="$(newest_bin)"
    if [[ ! -x "$PG_BIN/pg_ctl" ]]; then
        apt_install postgresql
        PG_BIN="$(newest_bin)"
        [[ -x "$PG_BIN/pg_ctl" ]] || die "postgresql installed but pg_ctl not found"
    fi
}

do_status() {
    local psql
    psql="$(command -v psql || echo "$(newest_bin)/psql")"
    [[ -x "$psql" ]] || return 1
    PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=2 "$psql" -X -Atq -h 127.0.0.1 -p "$PG_PORT" \
        -U "$PG_ROLE" -d "$PG_DB" -c 'SELECT 1' >/dev/null 2>&1
}

init_cluster() {
    mkdir -p "$PG_BASE"
    chown "$PG_USER:" "$PG_BASE"
    chmod 0700 "$PG_BASE"
    # initdb into a scratch dir and rename: an interrupted initdb never leaves a
    # half-made cluster that later starts would trip over.
    rm -rf "$PG_DATA.tmp"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA.tmp" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync --no-instructions \
        >"$PG_BASE/initdb.log" 2>&1 || {
        cat "$PG_BASE/initdb.log" >&2
        die "initdb failed"
    }
    echo "include_if_exists = 'metaverse.conf'" >>"$PG_DATA.tmp/postgresql.conf"
    mv "$PG_DATA.tmp" "$PG_DATA"
}

write_conf() {
    # Rewritten on every start so port or path changes take effect.
    local conf="$PG_DATA/metaverse.conf"
    cat >"$conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 1GB
checkpoint_timeout = 30min
log_min_messages = warning
EOF
    chown "$PG_USER:" "$conf"
    mkdir -p "$PG_SOCKET_DIR"
    chown "$PG_USER:" "$PG_SOCKET_DIR"
}

ensure_role_and_db() {
    as_pg "$PG_BIN/psql" -X -Atq -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" \
        -U postgres -d postgres >/dev/null <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN
    CREATE ROLE $PG_ROLE LOGIN SUPERUSER PASSWORD '$PG_PASSWORD';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_ROLE'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB') \gexec
EOF
}

do_start() {
    do_status && return 0
    find_bin
    [[ -f "$PG_DATA/PG_VERSION" ]] || init_cluster
    write_conf
    # pg_ctl detaches the postmaster into its own session, so it outlives us.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start; then
        tail -n 20 "$PG_LOG" >&2 || true
        die "PostgreSQL failed to start on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
    fi
    ensure_role_and_db
    do_status || die "PostgreSQL started but does not accept $PG_ROLE@127.0.0.1:$PG_PORT/$PG_DB"
}

do_stop() {
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
    find_bin
    # Fails on a stale pid file (server already gone), which is fine; a server
    # that still answers afterwards is not.
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 -s stop >/dev/null 2>&1 || true
    ! do_status || die "PostgreSQL on 127.0.0.1:$PG_PORT did not stop (log: $PG_LOG)"
}

pick_base
dispatch "$@"
