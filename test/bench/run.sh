#!/usr/bin/env bash
# Side-by-side call benchmark on loopback (make bench). A SIPp UAC places the
# INVITE/100/180/200/ACK/BYE/200 scenario (Record-Route honoured) over UDP
# toward a SIPp UAS, through
#   direct   - no proxy (the limit of this machine; peak run only),
#   kamailio - Kamailio 5.6 as an equivalent stateful proxy (kamailio.cfg),
#   sipedge  - sipedge with an equivalent config (trusted, one route),
#   base     - the same for SIPEDGE_BASE_BIN (before/after in one run).
# Two runs per proxy, each with fresh processes:
#   fixed - BENCH_FIXED_RATE calls/s for BENCH_FIXED_DURATION s (800 x 10):
#           CPU per completed call = user+system time of every process of
#           the proxy (Kamailio's forked children summed) from /proc/PID/stat,
#           read before the first call and again BENCH_SETTLE s after the
#           last one ended (so timers that fire after the call - transaction
#           lifetimes of 32 s - are paid for too); peak memory sampled.
#   peak  - saturating closed-loop load (BENCH_RATE offered, BENCH_LIMIT
#           concurrent) for BENCH_DURATION s: successful calls/s.
# Memory is the peak of the summed Pss of the proxy's processes
# (/proc/PID/smaps_rollup; Kamailio's shared memory is counted once, not once
# per child), sampled every 0.5 s; for one process Pss equals its RSS.
# Prints every figure side by side with sipedge/kamailio ratios; failed
# calls are printed and make the run exit 1 when sipedge has any; the
# UAS's SIPp error log is kept as uas-MODE-TARGET-errors.log.
#
# Environment: BENCH_MODES ("fixed peak"), BENCH_TARGETS ("direct kamailio
# sipedge"), BENCH_FIXED_RATE (800), BENCH_FIXED_DURATION (10),
# BENCH_SETTLE (35), BENCH_DURATION (20), BENCH_RATE (20000), BENCH_LIMIT
# (400), BENCH_PORT_BASE (15060: uses base..base+30), SIPEDGE_BIN
# (bin/sipedge), SIPEDGE_BASE_BIN (a second sipedge binary, e.g. main's,
# run as target "base" with the same config), SIPEDGE_EXTRA_YAML (appended
# to the sipedge target's config only, e.g. "transaction_linger: 5s"),
# BENCH_TRUNK (1: the UAS is a provider demanding digest on every INVITE,
# uas_trunk_bench.xml; sipedge routes to it as trunk:carrier and Kamailio
# answers with uac_auth, kamailio-trunk.cfg; make bench runs it as
# test/bench/trunk.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=proc.sh
. "$here/proc.sh" # tree, cpu_ticks
root="$(cd "$here/../.." && pwd)"
scen="$root/test/testdata/sipp"
modes="${BENCH_MODES:-fixed peak}"
targets="${BENCH_TARGETS:-direct kamailio sipedge}"
frate="${BENCH_FIXED_RATE:-800}"
fdur="${BENCH_FIXED_DURATION:-10}"
settle="${BENCH_SETTLE:-35}"
dur="${BENCH_DURATION:-20}"
rate="${BENCH_RATE:-20000}"
limit="${BENCH_LIMIT:-400}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
base="${BENCH_PORT_BASE:-15060}"
gw_port=$base kam_port=$((base + 10)) uac_port=$((base + 20)) uas_port=$((base + 30))
tck="$(getconf CLK_TCK)"

for tool in /usr/bin/sipp /usr/sbin/kamailio; do
  [ -x "$tool" ] || { echo "bench: $tool missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
for p in $uas_port $kam_port $gw_port $uac_port; do
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp; then
    echo "bench: UDP port $p on this host is in use (set BENCH_PORT_BASE)" >&2; exit 1
  fi
done

uas_scen=uas_call.xml kam_cfg="$here/kamailio.cfg"
if [ "${BENCH_TRUNK:-0}" = 1 ]; then uas_scen=uas_trunk_bench.xml kam_cfg="$here/kamailio-trunk.cfg"; fi

# sipedge_routes: the sipedge target's routes (and trunk).
sipedge_routes() {
  if [ "${BENCH_TRUNK:-0}" = 1 ]; then
    printf 'trunks:\n  carrier: {uris: [sip:127.0.0.1:%s], username: acct, password: pw}\nroutes:\n  - to: [trunk:carrier]\n' "$uas_port"
  else
    printf 'routes:\n  - to: [sip:127.0.0.1:%s]\n' "$uas_port"
  fi
}

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



# pss_kb PID: summed Pss of PID's process tree, kB.
pss_kb() {
  local p sum=0 v
  for p in $(tree "$1"); do
    v="$(cat "/proc/$p/smaps_rollup" 2>/dev/null | awk '/^Pss:/{print $2}')"
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# sample_mem PID FILE: writes the peak of pss_kb PID to FILE until killed.
sample_mem() {
  local peak=0 v
  while kill -0 "$1" 2>/dev/null; do
    v="$(pss_kb "$1")"
    if [ "$v" -gt "$peak" ]; then peak=$v; echo "$peak" >"$2"; fi
    sleep 0.5
  done
}

# udp_drops: datagrams the kernel dropped for full receive buffers (all
# sockets of the host): a failed call under load usually shows up here.
udp_drops() { awk '/^Udp:/ { if (!h) { for (i=1;i<=NF;i++) c[$i]=i; h=1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

start_uas() {
  /usr/bin/sipp -sf "$scen/$uas_scen" -i 127.0.0.1 -p $uas_port -t u1 -nostdin \
    -max_recv_loops 10000 -buff_size 4194304 -trace_err -error_file "$work/uas-$1-errors.log" >"$work/uas-$1.out" 2>&1 &
  uas_pid=$!; pids+=("$uas_pid")
  wait_udp $uas_port
}

# start_proxy TARGET RUN: starts it, sets proxy_pid and dst.
start_proxy() {
  case $1 in
    direct) proxy_pid=""; dst=127.0.0.1:$uas_port ;;
    kamailio)
      mkdir -p "$work/kam-$2"
      /usr/sbin/kamailio -DD -E -f "$kam_cfg" -Y "$work/kam-$2" -w "$work/kam-$2" -m "${BENCH_KAM_SHM:-1024}" -M 16 \
        -A LISTEN=udp:127.0.0.1:$kam_port -A "NEXTHOP=\"sip:127.0.0.1:$uas_port\"" >"$work/kamailio-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $kam_port
      dst=127.0.0.1:$kam_port ;;
    sipedge|base)
      local b=$bin
      [ "$1" = base ] && b=${SIPEDGE_BASE_BIN:?base needs SIPEDGE_BASE_BIN}
      [ -x "$b" ] || { echo "bench: $b missing (make build)" >&2; exit 1; }
      cat >"$work/$1.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [example.test]
trusted: [127.0.0.1/32]
$(sipedge_routes)
log: {level: warn, format: text}
$([ "$1" = sipedge ] && echo "${SIPEDGE_EXTRA_YAML:-}")
YAML
      "$b" serve --config "$work/$1.yaml" >"$work/$1-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $gw_port
      dst=127.0.0.1:$gw_port ;;
    *) echo "bench: unknown target $1" >&2; exit 1 ;;
  esac
}

# last_row STATS DUR: "successful failed calls/s" from SIPp's statistics:
# the last row within DUR seconds (any row when DUR is 0).
last_row() {
  awk -F';' -v dur="$2" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
    { split($c["ElapsedTime(C)"],t,":"); secs=t[1]*3600+t[2]*60+t[3];
      if (dur==0 || secs<=dur || !have) { have=1; s=secs; ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"] } }
    END{ printf "%d %d %.1f\n", ok, bad, (s>0? ok/s : 0) }' "$1"
}

sipp_uac() { # NAME DST SECS ARGS...: one UAC run (killed after SECS), statistics in $work/uac-NAME.csv
  local name=$1 dst=$2 secs=$3; shift 3
  timeout -k 2 "$secs" /usr/bin/sipp -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port -t u1 -s 15551234 \
    -nostdin -max_recv_loops 10000 -buff_size 4194304 \
    -trace_stat -fd 1 -stf "$work/uac-$name.csv" -trace_err -error_file "$work/uac-$name-errors.log" \
    "$@" "$dst" >"$work/uac-$name.out" 2>&1 || true
}

declare -A cps pok pbad fus fok fbad fmem pmem
failed=0

# fixed TARGET: 800 calls/s for 10 s; CPU per call and peak memory.
run_fixed() {
  local t=$1 calls=$((frate * fdur)) c0 c1 c2 mem d0
  start_uas "fixed-$t"
  start_proxy "$t" fixed
  sample_mem "$proxy_pid" "$work/mem-fixed-$t" & pids+=("$!")
  d0="$(udp_drops)"
  c0="$(cpu_ticks "$proxy_pid")"
  # -m: exactly this many calls; SIPp exits once all of them ended.
  sipp_uac "fixed-$t" "$dst" $((fdur + 60)) -r "$frate" -m "$calls" -l $((frate * 5)) -d 0
  c1="$(cpu_ticks "$proxy_pid")"
  sleep "$settle"
  c2="$(cpu_ticks "$proxy_pid")"
  mem="$(cat "$work/mem-fixed-$t" 2>/dev/null || echo 0)"
  read -r fok[$t] fbad[$t] _ < <(last_row "$work/uac-fixed-$t.csv" 0)
  stop "$proxy_pid"; stop "$uas_pid"
  fus[$t]="$(awk -v a="$c0" -v b="$c2" -v n="${fok[$t]}" -v k="$tck" 'BEGIN{ printf "%.0f", (n>0? (b-a)/k*1e6/n : 0) }')"
  local us_end
  us_end="$(awk -v a="$c0" -v b="$c1" -v n="${fok[$t]}" -v k="$tck" 'BEGIN{ printf "%.0f", (n>0? (b-a)/k*1e6/n : 0) }')"
  fmem[$t]=$((mem / 1024))
  printf 'fixed %-9s %5s us/call (%s at the last call)  peak %s MB  (%s of %s successful: %s failed, %s unfinished; %s UDP drops)\n' \
    "$t" "${fus[$t]}" "$us_end" "${fmem[$t]}" "${fok[$t]}" "$calls" "${fbad[$t]}" $((calls - fok[$t] - fbad[$t])) $(($(udp_drops) - d0))
  fbad[$t]=$((calls - fok[$t]))
}

# peak TARGET: saturating run; successful calls/s.
run_peak() {
  local t=$1 mem d0
  d0="$(udp_drops)"
  start_uas "peak-$t"
  start_proxy "$t" peak
  if [ -n "$proxy_pid" ]; then sample_mem "$proxy_pid" "$work/mem-peak-$t" & pids+=("$!"); fi
  # SIPp stops placing calls at -timeout but then waits for the calls in
  # progress (up to 32 s of retransmissions): the statistics row written
  # (every second, -fd 1) at the end of the duration is what counts, and
  # timeout(1) bounds the process.
  sipp_uac "peak-$t" "$dst" $((dur + 3)) -r "$rate" -l "$limit" -d 0 -timeout "${dur}s"
  read -r pok[$t] pbad[$t] cps[$t] < <(last_row "$work/uac-peak-$t.csv" "$dur")
  mem="$(cat "$work/mem-peak-$t" 2>/dev/null || echo 0)"
  pmem[$t]=$((mem / 1024))
  [ -z "$proxy_pid" ] || stop "$proxy_pid"
  stop "$uas_pid"
  printf 'peak  %-9s %8s calls/s  peak %s MB  (%s successful, %s failed in %ss; %s UDP drops)\n' \
    "$t" "${cps[$t]}" "${pmem[$t]}" "${pok[$t]}" "${pbad[$t]}" "$dur" $(($(udp_drops) - d0))
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) CPUs)"
for mode in $modes; do
  for t in $targets; do
    case $mode in
      fixed) [ "$t" = direct ] || run_fixed "$t" ;;
      peak) run_peak "$t" ;;
      *) echo "bench: unknown mode $mode" >&2; exit 1 ;;
    esac
  done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"

ratio() { awk -v s="$1" -v k="$2" 'BEGIN{ if (k>0) printf "%.2f", s/k; else printf "n/a" }'; }
if [ -n "${fus[kamailio]:-}" ] && [ -n "${fus[sipedge]:-}" ]; then
  printf 'CPU per call at %s calls/s: sipedge %s us, kamailio %s us, ratio %s (target <= 0.50); peak memory sipedge %s MB, kamailio %s MB\n' \
    "$frate" "${fus[sipedge]}" "${fus[kamailio]}" "$(ratio "${fus[sipedge]}" "${fus[kamailio]}")" "${fmem[sipedge]}" "${fmem[kamailio]}"
fi
if [ -n "${cps[kamailio]:-}" ] && [ -n "${cps[sipedge]:-}" ]; then
  peak_target=2.00
  [ "${BENCH_TRUNK:-0}" = 1 ] && peak_target=1.20
  printf 'peak calls/s: sipedge %s, kamailio %s, ratio %s (target >= %s); peak memory sipedge %s MB, kamailio %s MB\n' \
    "${cps[sipedge]}" "${cps[kamailio]}" "$(ratio "${cps[sipedge]}" "${cps[kamailio]}")" "$peak_target" "${pmem[sipedge]}" "${pmem[kamailio]}"
fi
if [ -n "${fus[base]:-}" ] && [ -n "${fus[sipedge]:-}" ]; then
  printf 'sipedge/base: CPU per call %s, peak calls/s %s\n' "$(ratio "${fus[sipedge]}" "${fus[base]}")" "$(ratio "${cps[sipedge]:-0}" "${cps[base]:-0}")"
fi
for t in sipedge; do
  if [ "${fbad[$t]:-0}" != 0 ] || [ "${pbad[$t]:-0}" != 0 ]; then
    echo "bench: $t had failed calls" >&2; failed=1
  fi
done
echo "logs and statistics: $work"
exit $failed
