#!/usr/bin/env bash
# Debian's coturn for the TURN (e2e) test. Only the binary is wanted: the test
# set-up starts `turnserver` itself on loopback with its own arguments, so the
# package's own service is kept from starting while it installs.
#
#   scripts/coturn.sh [install]   install if missing (default)
#   scripts/coturn.sh status      exit 0 if turnserver runs
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"


do_status() {
    command -v turnserver >/dev/null && turnserver --version >/dev/null 2>&1
}

do_install() {
    do_status && return 0
    is_root || die "need root to install coturn"
    apt_install_quiet_service coturn coturn
    do_status || die "coturn installed but turnserver does not run"
}

case "${1:-install}" in
install | start) do_install ;;
status) do_status ;;
stop) ;; # nothing runs in the background
*) die "usage: $0 install|status" ;;
esac
