#!/usr/bin/env bash
# WebSocket edge benchmarks through the real sipedge binary (not part of
# make test): 10,000 idle registered WSS connections (RSS and live heap per
# connection) and REGISTER/s over WS and WSS with a new connection per
# registration. Figures go to docs/benchmarks.md (## WebSocket edge).
#
#   CONNS=10000 REGS=5000 WORKERS=64 SETTLE=32 test/bench/ws.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

CONNS="${CONNS:-10000}"
REGS="${REGS:-5000}"
WORKERS="${WORKERS:-64}"

# shellcheck source=ws-common.sh
. test/bench/ws-common.sh

# Idle connections are held SETTLE seconds (RSS printed every 10 s), once with
# Go's default GC pacing and once with a memory budget of 16 KiB per
# connection (runtime.memory_limit_mb = CONNS x 16 KiB).
SETTLE="${SETTLE:-32}"
budget=$((CONNS * 16 / 1024))
echo "== $CONNS idle registered WSS connections, default GC pacing"
SIPEDGE_BENCH_CONNS="$CONNS" SIPEDGE_BENCH_SETTLE="$SETTLE" \
  go test -v -run '^$' -bench '^BenchmarkWSIdleConnections$' -benchtime=1x -timeout 15m ./test/ \
  | grep -E 'idle |WSS connections|^Benchmark|^(ok|FAIL|---)'
echo "== $CONNS idle registered WSS connections, runtime.memory_limit_mb: $budget"
SIPEDGE_BENCH_CONNS="$CONNS" SIPEDGE_BENCH_SETTLE="$SETTLE" SIPEDGE_BENCH_MEMLIMIT_MB="$budget" \
  go test -v -run '^$' -bench '^BenchmarkWSIdleConnections$' -benchtime=1x -timeout 15m ./test/ \
  | grep -E 'idle |WSS connections|^Benchmark|^(ok|FAIL|---)'
echo "== $CONNS idle registered WSS connections, registrations on a redis-server (cluster:)"
redis_port=15191
redis-server --bind 127.0.0.1 --port $redis_port --save "" --appendonly no --dir "$(mktemp -d)" >/dev/null 2>&1 &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do redis-cli -p $redis_port ping >/dev/null 2>&1 && break; sleep 0.05; done
SIPEDGE_BENCH_CONNS="$CONNS" SIPEDGE_BENCH_SETTLE="$SETTLE" SIPEDGE_BENCH_REDIS="127.0.0.1:$redis_port" \
  go test -v -run '^$' -bench '^BenchmarkWSIdleConnections$' -benchtime=1x -timeout 15m ./test/ \
  | grep -E 'idle |WSS connections|^Benchmark|^(ok|FAIL|---)'
echo "== REGISTER/s, new connection per registration, $WORKERS clients, $REGS registrations"
SIPEDGE_BENCH_WORKERS="$WORKERS" go test -run '^$' -bench '^BenchmarkWSRegister$' -benchtime="${REGS}x" -count=3 -timeout 15m ./test/ \
  | grep -v 'level=INFO'
