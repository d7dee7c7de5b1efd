#!/usr/bin/env bash
# Side-by-side call throughput on loopback (make bench): a SIPp UAC saturates
# the INVITE/200/ACK/BYE scenario over UDP against
#   direct   - a SIPp UAS, no proxy (the limit of this machine),
#   kamailio - Kamailio 5.6 as an equivalent stateful proxy (kamailio.cfg),
#   sipedge  - sipedge with an equivalent config (trusted, one route),
# each for the same duration, and prints successful calls/s of each and
# sipedge's ratio to Kamailio. Every process is killed on exit.
#
# Environment: BENCH_DURATION seconds per run (20), BENCH_RATE offered
# calls/s (20000), BENCH_LIMIT concurrent calls cap (400), SIPEDGE_BIN
# (bin/sipedge), BENCH_TARGETS ("direct kamailio sipedge").
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scen="$root/test/testdata/sipp"
dur="${BENCH_DURATION:-20}"
rate="${BENCH_RATE:-20000}"
limit="${BENCH_LIMIT:-400}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
targets="${BENCH_TARGETS:-direct kamailio sipedge}"
uas_port=15090 kam_port=15070 gw_port=15060 uac_port=15080

for tool in /usr/bin/sipp /usr/sbin/kamailio; do
  [ -x "$tool" ] || { echo "bench: $tool missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
for p in $uas_port $kam_port $gw_port $uac_port; do
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp; then
    echo "bench: UDP port $p on this host is in use" >&2; exit 1
  fi
done

work="$(mktemp -d /tmp/sipedge-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_udp PORT: until something is bound to 127.0.0.1:PORT (at most 10 s).
wait_udp() {
  local hex i
  hex="$(printf '%04X' "$1")"
  for i in $(seq 1 200); do
    grep -qi "^ *[0-9]*: 0100007F:$hex " /proc/net/udp && return 0
    sleep 0.05
  done
  echo "bench: nothing bound to udp port $1 after 10s" >&2
  return 1
}

# stop PID: kill one process we started and wait for it.
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

start_uas() {
  /usr/bin/sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p $uas_port -t u1 -nostdin \
    -max_recv_loops 10000 -buff_size 4194304 >"$work/uas-$1.out" 2>&1 &
  uas_pid=$!; pids+=("$uas_pid")
  wait_udp $uas_port
}

# run_uac NAME HOST:PORT: prints successful calls/s of one saturating run.
run_uac() {
  local name=$1 dst=$2 stats="$work/uac-$1.csv"
  # SIPp stops placing calls at -timeout but then waits for the calls in
  # progress (up to 32 s of retransmissions): the statistics row written
  # (every second, -fd 1) at the end of the duration is what counts, and
  # timeout(1) bounds the process.
  timeout -k 2 $((dur + 3)) /usr/bin/sipp -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port -t u1 -s 15551234 \
    -r "$rate" -l "$limit" -d 0 -timeout "${dur}s" -nostdin -max_recv_loops 10000 -buff_size 4194304 \
    -trace_stat -fd 1 -stf "$stats" -trace_err -error_file "$work/uac-$name-errors.log" \
    "$dst" >"$work/uac-$name.out" 2>&1 || true
  # SuccessfulCall(C) over ElapsedTime(C) on the last row within the duration.
  awk -F';' -v dur="$dur" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
    { split($c["ElapsedTime(C)"],t,":"); secs=t[1]*3600+t[2]*60+t[3];
      if (secs<=dur || !have) { have=1; s=secs; ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"] } }
    END{ printf "%d %d %.1f\n", ok, bad, (s>0? ok/s : 0) }' "$stats"
}

declare -A cps ok bad
for target in $targets; do
  start_uas "$target"
  case $target in
    direct) dst=127.0.0.1:$uas_port ;;
    kamailio)
      mkdir -p "$work/kam"
      /usr/sbin/kamailio -DD -E -f "$here/kamailio.cfg" -Y "$work/kam" -w "$work/kam" -m 256 -M 16 \
        -A LISTEN=udp:127.0.0.1:$kam_port -A "NEXTHOP=\"sip:127.0.0.1:$uas_port\"" >"$work/kamailio.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $kam_port
      dst=127.0.0.1:$kam_port ;;
    sipedge)
      [ -x "$bin" ] || { echo "bench: $bin missing (make build)" >&2; exit 1; }
      cat >"$work/sipedge.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [example.test]
trusted: [127.0.0.1/32]
routes:
  - to: [sip:127.0.0.1:$uas_port]
log: {level: warn, format: text}
YAML
      "$bin" serve --config "$work/sipedge.yaml" >"$work/sipedge.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $gw_port
      dst=127.0.0.1:$gw_port ;;
    *) echo "bench: unknown target $target" >&2; exit 1 ;;
  esac
  read -r ok[$target] bad[$target] cps[$target] < <(run_uac "$target" "$dst")
  [ "$target" = direct ] || stop "$proxy_pid"
  stop "$uas_pid"
  printf '%-9s %8s calls/s  (%s successful, %s failed in %ss)\n' \
    "$target" "${cps[$target]}" "${ok[$target]}" "${bad[$target]}" "$dur"
done

if [ -n "${cps[kamailio]:-}" ] && [ -n "${cps[sipedge]:-}" ]; then
  awk -v s="${cps[sipedge]}" -v k="${cps[kamailio]}" \
    'BEGIN{ if (k>0) printf "sipedge/kamailio ratio: %.2f\n", s/k; else print "sipedge/kamailio ratio: n/a" }'
fi
echo "logs and statistics: $work"
