#!/usr/bin/env bash
# Debian's nginx, the load balancer in front of the local cluster (scripts/cluster.sh).
# Only the binary is wanted: cluster.sh runs its own nginx with `-p` a prefix under
# .services/ and `-c` a config generated there (loopback, non-privileged ports), so the
# package's own service is kept from starting while it installs, and never touched.
#
#   scripts/nginx.sh [install]   install if missing (default)
#   scripts/nginx.sh status      exit 0 if the nginx binary runs
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

POLICY=/usr/sbin/policy-rc.d
NGINX=/usr/sbin/nginx

do_status() {
    [[ -x "$NGINX" ]] && "$NGINX" -v >/dev/null 2>&1
}

do_install() {
    do_status && return 0
    is_root || die "need root to install nginx"
    # policy-rc.d exiting 101 tells invoke-rc.d (called by the package's postinst) not
    # to start the service, which would take port 80. An existing policy is left as it is.
    local ours=0
    if [[ ! -e "$POLICY" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$POLICY"
        chmod 0755 "$POLICY"
        ours=1
    fi
    local status=0
    (apt_install nginx) || status=$?
    ((ours)) && rm -f "$POLICY"
    ((status == 0)) || exit "$status"
    # On hosts with systemd, keep the unit from starting at boot as well.
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        systemctl disable --now nginx >/dev/null 2>&1 || true
    fi
    do_status || die "nginx installed but $NGINX does not run"
}

case "${1:-install}" in
install | start) do_install ;;
status) do_status ;;
stop) ;; # nothing runs in the background
*) die "usage: $0 install|status" ;;
esac
