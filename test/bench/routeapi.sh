#!/usr/bin/env bash
# Setup delay the routing API adds (make bench): sigdelay plays caller and
# callee over UDP on loopback and measures INVITE in -> INVITE out through
# sipedge at BENCH_RATES calls/s, for calls routed statically (user 100)
# and for calls whose route asks a local routing service (user 900,
# rtjsond, answering at once from memory, HTTP keep-alive). Prints both
# tables; the difference of the p50/p99 columns is the API's cost.
#
# Environment: BENCH_RATES (200), BENCH_DURATION (10s), BENCH_PORT_BASE
# (17060: uses base..base+3), SIPEDGE_BIN (bin/sipedge).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rates="${BENCH_RATES:-200}"
dur="${BENCH_DURATION:-10s}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
base="${BENCH_PORT_BASE:-17060}"
gw_port=$base callee_port=$((base + 1)) api_port=$((base + 2))
[ -x "$bin" ] || { echo "bench: $bin missing (make build)" >&2; exit 1; }

work="$(mktemp -d /tmp/sipedge-bench-routeapi.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$work/sigdelay" "$root/test/bench/sigdelay"
go build -o "$work/rtjsond" "$root/test/bench/rtjsond"
"$work/rtjsond" -listen 127.0.0.1:$api_port -uri "sip:900@127.0.0.1:$callee_port" >"$work/rtjsond.log" 2>&1 &
pids+=("$!")
cat >"$work/sipedge.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [example.test]
trusted: [127.0.0.1/32]
routes:
  - match: {user: '^9'}
    api: {url: http://127.0.0.1:$api_port/route, timeout: 800ms}
    to: [sip:127.0.0.1:$callee_port]
  - to: [sip:127.0.0.1:$callee_port]
log: {level: warn, format: text}
YAML
"$bin" serve --config "$work/sipedge.yaml" >"$work/sipedge.log" 2>&1 &
pids+=("$!")
for i in $(seq 1 100); do
  grep -qi ":$(printf '%04X' $gw_port) " /proc/net/udp && break
  sleep 0.05
done

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) CPUs)"
echo "static route (user 100):"
"$work/sigdelay" -proxy 127.0.0.1:$gw_port -callee 127.0.0.1:$callee_port -user 100 -rates "$rates" -duration "$dur"
echo "routing API (user 900, local service answering at once):"
"$work/sigdelay" -proxy 127.0.0.1:$gw_port -callee 127.0.0.1:$callee_port -user 900 -rates "$rates" -duration "$dur"
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
if grep -q "routing API failed" "$work/sipedge.log"; then
  echo "bench: some routing API queries failed (fallback used):" >&2
  grep -c "routing API failed" "$work/sipedge.log" >&2
fi
echo "logs: $work"
