#!/usr/bin/env bash
# Trunk call benchmark (make bench): run.sh with a SIPp provider demanding
# digest on every INVITE, sipedge (trunk:carrier) beside Kamailio 5.6
# (uac_auth). Issue 12 wants sipedge at >= 1.2x Kamailio's peak calls/s
# with 0 failed calls. Same environment as run.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
BENCH_TRUNK=1 exec "$here/run.sh" "$@"
