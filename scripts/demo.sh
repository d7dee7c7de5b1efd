#!/usr/bin/env bash
# make demo: runs sipedge with the demo configuration until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "sipedge demo: SIP on udp/tcp 127.0.0.1:5060, users alice/alice-secret and bob/bob-secret"
exec bin/sipedge serve --config config/examples/demo.yaml
