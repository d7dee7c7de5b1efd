#!/usr/bin/env bash
# Installs what sipedge's tests, benchmarks and demo need, only if missing.
# Debian packages by name (apt-get), Go tools by module path (go install).
set -euo pipefail

# chromium (+ a font for screenshots) runs the browser test; util-linux has unshare
# and nsenter, nftables the NAT of TestNATMasquerade.
# kamailio-*-modules and gcc: the Kamailio WebSocket peer (test/bench/kamailio-ws.sh).
# baresip (its baresip-core has the aufile, sndfile and ctrl_tcp modules) is
# the classic soft-phone of test/baresip_test.go.
pkgs=(sip-tester rtpengine-daemon kamailio kamailio-websocket-modules kamailio-tls-modules gcc openssl iproute2 procps chromium fonts-dejavu-core util-linux nftables baresip)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm build the demo softphone and drive Chromium (playwright-core);
# any node >= 18 on PATH will do, so Debian's are installed only if none is.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# rtpengine-daemon's package starts a system service; tests run their own
# userspace instance on loopback, so keep the packaged one out of the way.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet rtpengine-daemon 2>/dev/null; then
  systemctl stop rtpengine-daemon || true
fi

GOBIN="$(go env GOPATH)/bin"
if [ ! -x "$GOBIN/staticcheck" ]; then
  echo "installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@latest
fi
