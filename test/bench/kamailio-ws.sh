#!/usr/bin/env bash
# Kamailio 5.6 as the side-by-side peer of the WebSocket edge benchmarks
# (test/bench/ws.sh runs them against sipedge): the same Go load generators
# (test/ws_bench_test.go, SIPEDGE_BENCH_TARGET_*) measure Kamailio
# (kamailio-ws.cfg) instead of starting sipedge:
#   idle     - CONNS idle registered WSS connections, memory per connection
#              (Pss summed over all Kamailio processes, after minus before)
#   register - REGISTER/s over WS and over WSS, a new connection per
#              registration (401, then 200 with digest), WORKERS clients,
#              REGS registrations, 3 runs each
# A fresh Kamailio serves each benchmark; it is stopped on exit.
#
#   CONNS=10000 REGS=5000 WORKERS=64 test/bench/kamailio-ws.sh
#
# Environment: CONNS (10000), REGS (5000), WORKERS (64), BENCHES
# ("idle register"), TCP_WORKERS Kamailio's tcp_children (4), KAM_SHM and
# KAM_PKG its shared and per-process memory in MB (2048, 32), KAM_MEM its
# memory manager (-x: qm, the packaged default, fm or tlsf),
# KAM_CPUS pins Kamailio to those CPUs (taskset list, e.g. 0), for a run
# with the load generator on the other core. KAM_TLS_FORK_FIX=0 runs Kamailio without kamailio-tls-fork.c (to see the
# OpenSSL 3 crash it works around), SIPEDGE_BIN (bin/sipedge; the test
# binary wants one even when it does not start it).
set -euo pipefail
cd "$(dirname "$0")/../.."
here="$PWD/test/bench"

CONNS="${CONNS:-10000}"
REGS="${REGS:-5000}"
WORKERS="${WORKERS:-64}"
BENCHES="${BENCHES:-idle register}"
TCP_WORKERS="${TCP_WORKERS:-4}"
KAM_SHM="${KAM_SHM:-2048}"
KAM_PKG="${KAM_PKG:-32}"
KAM_MEM="${KAM_MEM:-qm}"
KAM_TLS_FORK_FIX="${KAM_TLS_FORK_FIX:-1}"
moddir=/usr/lib/x86_64-linux-gnu/kamailio/modules

for f in /usr/sbin/kamailio "$moddir/websocket.so" "$moddir/tls.so" /usr/bin/openssl /usr/bin/gcc; do
  [ -e "$f" ] || { echo "kamailio-ws: $f missing (run scripts/install-deps.sh)" >&2; exit 1; }
done

# shellcheck source=ws-common.sh
. test/bench/ws-common.sh

work="$(mktemp -d /tmp/kamailio-ws.XXXXXX)"
kam_pid=""
stop_kamailio() {
  if [ -n "$kam_pid" ]; then
    kill "$kam_pid" 2>/dev/null || true
    wait "$kam_pid" 2>/dev/null || true
    kam_pid=""
  fi
}
trap stop_kamailio EXIT
trap 'exit 130' INT TERM

# ECDSA P-256 self-signed certificate for 127.0.0.1 (as test/tls_test.go's
# writeTestCert); the clients trust exactly this certificate.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=sipedge bench" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat >"$work/tls.cfg" <<EOF
[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = $work/cert.pem
private_key = $work/key.pem
EOF
# Kamailio 5.6 + OpenSSL 3: see kamailio-tls-fork.c.
gcc -shared -fPIC -O2 -o "$work/kamailio-tls-fork.so" "$here/kamailio-tls-fork.c"

# free_port: a random TCP port nothing on this host uses.
free_port() {
  local i p
  for i in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6; then
      echo "$p"; return 0
    fi
  done
  echo "kamailio-ws: no free port" >&2; return 1
}

# wait_listen PORT: until Kamailio listens on 127.0.0.1:PORT (at most 20 s).
wait_listen() {
  local hex i
  hex="$(printf '%04X' "$1")"
  for i in $(seq 1 400); do
    grep -qi "^ *[0-9]*: 0100007F:$hex 00000000:0000 0A " /proc/net/tcp && return 0
    kill -0 "$kam_pid" 2>/dev/null || { echo "kamailio-ws: kamailio exited:" >&2; tail -20 "$work/kamailio-$2.log" >&2; return 1; }
    sleep 0.05
  done
  echo "kamailio-ws: nothing listening on tcp port $1 after 20s" >&2
  return 1
}

# start_kamailio NAME: a fresh Kamailio on new ports; sets kam_pid and the
# SIPEDGE_BENCH_TARGET_* environment of the benchmarks.
start_kamailio() {
  local ws wss
  ws="$(free_port)"; wss="$(free_port)"
  mkdir -p "$work/run-$1"
  local preload="$work/kamailio-tls-fork.so"
  [ "$KAM_TLS_FORK_FIX" = 1 ] || preload=""
  local pin=()
  [ -z "${KAM_CPUS:-}" ] || pin=(taskset -c "$KAM_CPUS")
  LD_PRELOAD="$preload" "${pin[@]}" /usr/sbin/kamailio -DD -E -f "$here/kamailio-ws.cfg" \
    -Y "$work/run-$1" -w "$work/run-$1" -x "$KAM_MEM" -m "$KAM_SHM" -M "$KAM_PKG" \
    -A "WS_LISTEN=tcp:127.0.0.1:$ws" -A "WSS_LISTEN=tls:127.0.0.1:$wss" -A "TLS_CFG=\"$work/tls.cfg\"" \
    -A "USERS=$(( CONNS > WORKERS ? CONNS : WORKERS ))" -A "TCP_WORKERS=$TCP_WORKERS" \
    >"$work/kamailio-$1.log" 2>&1 &
  kam_pid=$!
  wait_listen "$ws" "$1"
  wait_listen "$wss" "$1"
  export SIPEDGE_BENCH_TARGET_WS="127.0.0.1:$ws" SIPEDGE_BENCH_TARGET_WSS="127.0.0.1:$wss" \
    SIPEDGE_BENCH_TARGET_PATH=/ws SIPEDGE_BENCH_TARGET_CERT="$work/cert.pem" SIPEDGE_BENCH_TARGET_PIDS="$kam_pid"
}

# check_kamailio NAME: fail if Kamailio died or logged a memory bug.
check_kamailio() {
  if ! kill -0 "$kam_pid" 2>/dev/null || grep -q "BUG:\|exited by a signal\|out of memory\|no more shm" "$work/kamailio-$1.log"; then
    echo "kamailio-ws: Kamailio failed during $1:" >&2
    grep -m 10 "BUG:\|exited by a signal\|out of memory\|no more shm" "$work/kamailio-$1.log" >&2 || true
    return 1
  fi
}

status=0
for bench in $BENCHES; do
  start_kamailio "$bench"
  echo "== kamailio $(/usr/sbin/kamailio -v | head -1 | awk '{print $3}') pid $kam_pid, tcp_children $TCP_WORKERS, -x $KAM_MEM -m $KAM_SHM -M $KAM_PKG, tls fork fix $KAM_TLS_FORK_FIX"
  case $bench in
    idle)
      echo "== $CONNS idle registered WSS connections"
      SIPEDGE_BENCH_CONNS="$CONNS" go test -run '^$' -bench '^BenchmarkWSIdleConnections$' -benchtime=1x \
        -timeout 15m ./test/ || status=1 ;;
    register)
      echo "== REGISTER/s, new connection per registration, $WORKERS clients, $REGS registrations"
      SIPEDGE_BENCH_WORKERS="$WORKERS" go test -run '^$' -bench '^BenchmarkWSRegister$' -benchtime="${REGS}x" \
        -count=3 -timeout 15m ./test/ || status=1 ;;
    *) echo "kamailio-ws: unknown benchmark $bench" >&2; exit 1 ;;
  esac
  check_kamailio "$bench" || status=1
  stop_kamailio
done
echo "logs: $work"
exit $status
