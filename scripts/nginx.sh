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

NGINX=/usr/sbin/nginx

do_status() {
    [[ -x "$NGINX" ]] && "$NGINX" -v >/dev/null 2>&1
}

do_install() {
    do_status && return 0
    is_root || die "need root to install nginx"
    apt_install_quiet_service nginx nginx
    do_status || die "nginx installed but $NGINX does not run"
}

case "${1:-install}" in
install | start) do_install ;;
status) do_status ;;
stop) ;; # nothing runs in the background
*) die "usage: $0 install|status" ;;
esac
