#!/usr/bin/env bash
# Installs what sipedge's tests, benchmarks and demo need, only if missing.
# Debian packages by name (apt-get), Go tools by module path (go install).
set -euo pipefail

# chromium (+ a font for screenshots) runs the browser test; util-linux has unshare
# and nsenter, nftables the NAT of TestNATMasquerade.
# kamailio-*-modules and gcc: the Kamailio WebSocket peer (test/bench/kamailio-ws.sh);
# kamailio-redis-modules: its usrloc on db_redis (test/bench/scale.sh, register.sh).
# baresip (its baresip-core has the aufile, sndfile and ctrl_tcp modules) is
# the classic soft-phone of test/baresip_test.go. sipvicious (svmap, svwar,
# svcrack) is the scanner the edge tests must ban; redis-server the shared
# store of the scale-out tests.
pkgs=(sip-tester rtpengine-daemon kamailio kamailio-websocket-modules kamailio-tls-modules kamailio-redis-modules gcc openssl iproute2 procps chromium fonts-dejavu-core util-linux nftables baresip sipvicious redis-server)
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

# Go tools at pinned versions (a new release can bring new checks, so an
# upgrade is a deliberate commit). staticcheck v0.8.2 is release 2026.2.2,
# the newest the module proxy serves, built for go1.26.
STATICCHECK_VERSION=v0.8.2
GOBIN="$(go env GOPATH)/bin"
if ! go version -m "$GOBIN/staticcheck" 2>/dev/null | grep -q "honnef.co/go/tools[[:space:]]*$STATICCHECK_VERSION[[:space:]]"; then
  echo "installing staticcheck $STATICCHECK_VERSION"
  go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi
