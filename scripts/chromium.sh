#!/usr/bin/env bash
# Debian's Chromium for the browser (e2e) tests. Playwright's own browser
# download can't work here (no internet but the package mirrors), so tests
# drive /usr/bin/chromium instead.
#
#   scripts/chromium.sh [install]   install if missing (default)
#   scripts/chromium.sh status      exit 0 if /usr/bin/chromium runs
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM=/usr/bin/chromium

do_status() { [[ -x "$CHROMIUM" ]]; }

do_install() {
    do_status && return 0
    apt_install chromium
    do_status || die "chromium installed but $CHROMIUM is missing"
}

case "${1:-install}" in
install | start) do_install ;;
status) do_status ;;
stop) ;; # nothing runs in the background
*) die "usage: $0 install|status" ;;
esac
