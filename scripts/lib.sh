# shellcheck shell=bash
# Shared helpers for the service scripts. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Every script stays silent on success; anything printed is a warning or an
# error, on stderr.

# The repo root is derived from this file's location, so a clone anywhere works.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SERVICES_DIR="$ROOT/.services"
mkdir -p "$SERVICES_DIR"

# The one place our apt calls serialise on: services.sh starts Kafka in the
# background while PostgreSQL and Redis start, and two apt-get runs at once
# would fail on dpkg's lock instead of waiting.
APT_LOCK=/var/lock/metaverse-services-apt.lock

warn() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
    warn "$*"
    exit 1
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# apt_install PKG...: install Debian packages quietly. `apt-get update` runs
# only when the first attempt fails (a fresh machine has no or stale lists),
# so repeated runs never touch the network when the packages are present.
apt_install() {
    is_root || die "need root to install Debian packages: $*"
    local log="$SERVICES_DIR/apt.log"
    local -a install=(apt-get install -y -q --no-install-recommends "$@")
    if ! DEBIAN_FRONTEND=noninteractive flock "$APT_LOCK" "${install[@]}" >"$log" 2>&1; then
        if ! DEBIAN_FRONTEND=noninteractive flock "$APT_LOCK" \
            sh -c 'apt-get update -q && "$@"' sh "${install[@]}" >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            die "apt-get install $* failed (full log: $log)"
        fi
    fi
}

# apt_install_quiet_service PKG UNIT: install a package that ships a system service, without
# starting that service: policy-rc.d exiting 101 tells invoke-rc.d (called by the package's
# postinst) not to start it (an existing policy is left as it is), and where systemd runs
# the unit is kept from starting at boot too. The project runs its own instance.
apt_install_quiet_service() {
    local package="$1" unit="$2" policy=/usr/sbin/policy-rc.d ours=0 status=0
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        ours=1
    fi
    (apt_install "$package") || status=$?
    ((ours)) && rm -f "$policy"
    ((status == 0)) || exit "$status"
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# port_owner PORT: the pid listening on 127.0.0.1:PORT, if any (empty otherwise).
port_owner() {
    { ss -Hltnp "sport = :$1" 2>/dev/null || true; } | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}

# pid_alive PID: the process exists (and is not a zombie).
pid_alive() {
    [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null &&
        [[ "$(ps -o stat= -p "$1" 2>/dev/null)" != Z* ]]
}

# read_pid FILE: print the pid stored in FILE, or nothing.
read_pid() {
    [[ -f "$1" ]] && tr -dc '0-9' <"$1" || true
}

# stop_pid PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL that pid only.
stop_pid() {
    local pid="$1" deadline=$((SECONDS + $2))
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    while pid_alive "$pid" && ((SECONDS < deadline)); do
        sleep 0.2
    done
    if pid_alive "$pid"; then
        warn "pid $pid did not stop within $2 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while pid_alive "$pid"; do sleep 0.1; done
    fi
}

# python_bin: the project's venv Python if present (it has the client
# libraries the readiness checks use), else the system one.
python_bin() {
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        echo "$ROOT/.venv/bin/python"
    else
        echo python3
    fi
}

# dispatch "$@": the common start|stop|status entry point.
dispatch() {
    case "${1:-}" in
    start | stop | status) "do_$1" ;;
    *) die "usage: $0 start|stop|status" ;;
    esac
}
