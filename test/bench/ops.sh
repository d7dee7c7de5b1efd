#!/usr/bin/env bash
# What operations cost (issue 15): sipedge with metrics and HEP capture on
# (admin listener with /metrics and the call-ladder ring, hep to a
# collector) against the same binary with both off, in one run, the two
# alternating (off, on, off, on, ...: BENCH_OPS_ROUNDS pairs) so that the
# load other work puts on the machine falls on both alike.
#
#  calls    - SIPp UAC -> sipedge -> SIPp UAS over UDP (uac_call.xml,
#             INVITE/100/180/200/ACK/BYE/200) at BENCH_FIXED_RATE calls/s
#             for BENCH_FIXED_DURATION s: CPU (user+system of sipedge, from
#             /proc) per completed call, counted from before the first call
#             to BENCH_SETTLE s after the last one ended (transaction timers
#             included), as run.sh's fixed mode.
#  register - SIPp uac_register.xml (REGISTER, 401, REGISTER with digest,
#             200), one user, BENCH_REG_FLOWS flows offered at
#             BENCH_REG_RATE/s with BENCH_REG_LIMIT in flight: flows/s and
#             CPU per flow, as register.sh.
#
# The HEP collector is a Python socket loop in its own process (UDP, or
# TCP with BENCH_HEP_TRANSPORT=tcp): its CPU is not counted, sipedge's
# sending is. Prints each run, then per round on/off ratios and the median
# ratio.
#
# Environment: BENCH_OPS_CASES ("calls register"), BENCH_OPS_ROUNDS (3),
# BENCH_FIXED_RATE (400), BENCH_FIXED_DURATION (10), BENCH_SETTLE (35),
# BENCH_REG_FLOWS (30000), BENCH_REG_RATE (30000), BENCH_REG_LIMIT (200),
# BENCH_HEP_TRANSPORT (udp), BENCH_PORT_BASE (28160: base..base+40),
# SIPEDGE_BIN (bin/sipedge). Wrap it in flock /work/bench.lock on a
# shared machine.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=proc.sh
. "$here/proc.sh" # tree, cpu_ticks
root="$(cd "$here/../.." && pwd)"
scen="$root/test/testdata/sipp"
cases="${BENCH_OPS_CASES:-calls register}"
rounds="${BENCH_OPS_ROUNDS:-3}"
frate="${BENCH_FIXED_RATE:-400}"
fdur="${BENCH_FIXED_DURATION:-10}"
settle="${BENCH_SETTLE:-35}"
flows="${BENCH_REG_FLOWS:-30000}"
rrate="${BENCH_REG_RATE:-30000}"
rlimit="${BENCH_REG_LIMIT:-200}"
hept="${BENCH_HEP_TRANSPORT:-udp}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
base="${BENCH_PORT_BASE:-28160}"
gw_port=$base adm_port=$((base + 5)) hep_port=$((base + 7)) uac_port=$((base + 20)) uas_port=$((base + 30))
tck="$(getconf CLK_TCK)"

[ -x /usr/bin/sipp ] || { echo "bench: /usr/bin/sipp missing (run scripts/install-deps.sh)" >&2; exit 1; }
[ -x "$bin" ] || { echo "bench: $bin missing (make build)" >&2; exit 1; }
for p in $uas_port $gw_port $uac_port $hep_port; do
  # bound UDP sockets, and TCP listeners (state 0A; not the last run's TIME_WAIT)
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp || grep -qi "^ *[0-9]*: [0-9A-F]*:$(printf '%04X' "$p") [0-9A-F:]* 0A " /proc/net/tcp; then
    echo "bench: port $p on this host is in use (set BENCH_PORT_BASE)" >&2; exit 1
  fi
done

work="$(mktemp -d /tmp/sipedge-ops-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The collector: reads and discards HEP packets.
if [ "$hept" = tcp ]; then
  python3 -c '
import socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1]))); ls.listen(8)
def drain(c):
    while c.recv(1 << 20): pass
while True:
    c, _ = ls.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()
' $hep_port &
else
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(65536)
' $hep_port &
fi
pids+=("$!")
sleep 0.5

# start_gw MODE NAME CASE: sipedge with metrics and HEP on or off.
start_gw() {
  {
    echo "listen: [udp://127.0.0.1:$gw_port]"
    echo "domains: [example.test]"
    echo "log: {level: warn, format: text}"
    if [ "$3" = calls ]; then
      printf 'trusted: [127.0.0.1/32]\nroutes:\n  - to: [sip:127.0.0.1:%s]\n' $uas_port
    else
      printf 'users:\n  bench: {password: secret}\nban: {off: true}\n'
    fi
    if [ "$1" = on ]; then
      echo "admin: {listen: 127.0.0.1:$adm_port}"
      echo "hep: {address: \"127.0.0.1:$hep_port\", transport: $hept}"
    fi
  } >"$work/$2.yaml"
  "$bin" serve --config "$work/$2.yaml" >"$work/$2.log" 2>&1 &
  gw_pid=$!; pids+=("$gw_pid")
  wait_udp $gw_port
}

# calls MODE ROUND: prints "us_per_call ok failed".
run_calls() {
  local name=calls-$1-$2 c0 c2 ok bad
  /usr/bin/sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p $uas_port -t u1 -nostdin \
    -max_recv_loops 10000 -buff_size 4194304 >"$work/uas-$name.out" 2>&1 &
  local uas=$!; pids+=("$uas")
  wait_udp $uas_port
  start_gw "$1" "$name" calls
  c0="$(cpu_ticks "$gw_pid")"
  timeout -k 2 $((fdur + 60)) /usr/bin/sipp -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port -t u1 -s 15551234 \
    -nostdin -max_recv_loops 10000 -buff_size 4194304 -r "$frate" -m $((frate * fdur)) -l $((frate * 5)) -d 0 \
    -trace_stat -fd 1 -stf "$work/uac-$name.csv" "127.0.0.1:$gw_port" >"$work/uac-$name.out" 2>&1 || true
  sleep "$settle"
  c2="$(cpu_ticks "$gw_pid")"
  stop "$gw_pid"; stop "$uas"
  read -r ok bad < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} { ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"] } END{ printf "%d %d\n", ok, bad }' "$work/uac-$name.csv")
  awk -v a="$c0" -v b="$c2" -v n="$ok" -v k="$tck" -v bad="$bad" 'BEGIN{ printf "%.0f %d %d\n", (n>0? (b-a)/k*1e6/n : 0), n, bad }'
}

# register MODE ROUND: prints "flows_per_s us_per_flow ok failed".
run_register() {
  local name=register-$1-$2 c0 c1 t0 t1 ok bad
  start_gw "$1" "$name" register
  c0="$(cpu_ticks "$gw_pid")"
  t0=$(date +%s%N)
  timeout -k 2 300 /usr/bin/sipp -sf "$scen/uac_register.xml" -i 127.0.0.1 -p $uac_port -t u1 -s bench \
    -au bench -ap secret -m "$flows" -r "$rrate" -l "$rlimit" -nostdin -max_recv_loops 10000 -buff_size 4194304 \
    -trace_stat -fd 1 -stf "$work/uac-$name.csv" "127.0.0.1:$gw_port" >"$work/uac-$name.out" 2>&1 || true
  t1=$(date +%s%N)
  c1="$(cpu_ticks "$gw_pid")"
  stop "$gw_pid"
  read -r ok bad < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next} { ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"] } END{ printf "%d %d\n", ok, bad }' "$work/uac-$name.csv")
  awk -v ok="$ok" -v bad="$bad" -v ns=$((t1 - t0)) -v c=$((c1 - c0)) -v k="$tck" \
    'BEGIN{ n = ok > 0 ? ok : 1; printf "%.0f %.1f %d %d\n", ok/(ns/1e9), c/k*1e6/n, ok, bad }'
}

# median of the arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2 }'; }

echo "ops bench: HEP over $hept, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $bin"
if [[ " $cases " == *" calls "* ]]; then
  echo "== calls: $frate calls/s for $fdur s, CPU counted to $settle s after the last call"
  ratios=()
  for r in $(seq 1 "$rounds"); do
    declare -A us
    for m in off on; do
      read -r u ok bad < <(run_calls "$m" "$r")
      us[$m]=$u
      printf 'round %d calls %-3s %5s us/call  (%s ok, %s failed; load %s)\n' "$r" "$m" "$u" "$ok" "$bad" "$(cut -d' ' -f1 /proc/loadavg)"
    done
    ratio="$(awk -v a="${us[on]}" -v b="${us[off]}" 'BEGIN{ printf "%.3f", (b>0? a/b : 0) }')"
    ratios+=("$ratio")
    echo "round $r calls on/off CPU per call: $ratio"
  done
  echo "calls: median on/off CPU per call $(median "${ratios[@]}") (rounds: ${ratios[*]})"
fi
if [[ " $cases " == *" register "* ]]; then
  echo "== register: $flows digest flows, SIPp -r $rrate -l $rlimit"
  cpu_r=() fps_r=()
  for r in $(seq 1 "$rounds"); do
    declare -A fps cpu
    for m in off on; do
      read -r f c ok bad < <(run_register "$m" "$r")
      fps[$m]=$f cpu[$m]=$c
      printf 'round %d register %-3s %6s flows/s  %6s us/flow  (%s ok, %s failed; load %s)\n' "$r" "$m" "$f" "$c" "$ok" "$bad" "$(cut -d' ' -f1 /proc/loadavg)"
    done
    cpu_r+=("$(awk -v a="${cpu[on]}" -v b="${cpu[off]}" 'BEGIN{ printf "%.3f", (b>0? a/b : 0) }')")
    fps_r+=("$(awk -v a="${fps[on]}" -v b="${fps[off]}" 'BEGIN{ printf "%.3f", (b>0? a/b : 0) }')")
    echo "round $r register on/off: CPU per flow ${cpu_r[-1]}, flows/s ${fps_r[-1]}"
  done
  echo "register: median on/off CPU per flow $(median "${cpu_r[@]}") (rounds: ${cpu_r[*]}), flows/s $(median "${fps_r[@]}") (rounds: ${fps_r[*]})"
fi
