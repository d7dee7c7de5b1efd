#!/usr/bin/env bash
# Destination-set benchmark on loopback (make bench): saturating SIPp load
# (INVITE/100/180/200/ACK/BYE/200, Record-Route honoured) over UDP through
# a two-member hash set, side by side in one run:
#   kamailio - Kamailio 5.6 with dispatcher: ds_select_dst(1, 0) (hash of
#              the Call-ID) and ds_next_dst on 408/5xx
#              (kamailio-dispatcher.cfg),
#   sipedge  - a destination set with algorithm hash-callid, failover on
#              408/5xx (the defaults).
# Each member is a SIPp UAS. Prints successful calls/s, failed calls and
# the split between the members, and the sipedge/kamailio ratio (target
# >= 1.2); exits 1 when sipedge had failed calls.
#
# Environment: BENCH_TARGETS ("kamailio sipedge"), BENCH_DURATION (20),
# BENCH_RATE (20000), BENCH_LIMIT (400), BENCH_PORT_BASE (16060: uses
# base..base+31), SIPEDGE_BIN (bin/sipedge), BENCH_KAM_SHM (Kamailio's
# shared memory in MB, 1024; at saturation 256 MB runs out - "tm: out of
# mem", 500s - near 1,700 calls/s, where 1024 carries ~2,600).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scen="$root/test/testdata/sipp"
targets="${BENCH_TARGETS:-kamailio sipedge}"
dur="${BENCH_DURATION:-20}"
rate="${BENCH_RATE:-20000}"
limit="${BENCH_LIMIT:-400}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
base="${BENCH_PORT_BASE:-16060}"
gw_port=$base kam_port=$((base + 10)) uac_port=$((base + 20)) uas1=$((base + 30)) uas2=$((base + 31))

for tool in /usr/bin/sipp /usr/sbin/kamailio; do
  [ -x "$tool" ] || { echo "bench: $tool missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
for p in $uas1 $uas2 $kam_port $gw_port $uac_port; do
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp; then
    echo "bench: UDP port $p on this host is in use (set BENCH_PORT_BASE)" >&2; exit 1
  fi
done

work="$(mktemp -d /tmp/sipedge-bench-sets.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_udp() { # PORT: until something is bound to 127.0.0.1:PORT (at most 10 s)
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
# sock_drops PORT: datagrams the kernel dropped at the socket bound to
# 127.0.0.1:PORT (its receive buffer was full), from /proc/net/udp.
sock_drops() {
  awk -v p="$(printf '0100007F:%04X' "$1")" 'toupper($2)==p { d+=$NF } END { print d+0 }' /proc/net/udp
}
udp_drops() { awk '/^Udp:/ { if (!h) { for (i=1;i<=NF;i++) c[$i]=i; h=1 } else print $c["RcvbufErrors"] }' /proc/net/snmp; }

start_uas() { # PORT NAME DIR: a member, its counts in DIR; SIGINT makes it write its final counts
  (cd "$3" && exec /usr/bin/sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p "$1" -t u1 -nostdin \
    -max_recv_loops 10000 -buff_size 4194304 -trace_counts -trace_err -error_file "$work/$2-errors.log") >"$work/$2.out" 2>&1 &
  pids+=("$!"); echo "$!" >"$work/$2.pid"
  wait_udp "$1"
}

declare -A cps bad split drops
run() { # TARGET
  local t=$1 dst uas_dir
  uas_dir="$work/$t"; mkdir -p "$uas_dir"
  start_uas $uas1 "m1-$t" "$uas_dir"; start_uas $uas2 "m2-$t" "$uas_dir"
  case $t in
    kamailio)
      printf '1 sip:127.0.0.1:%s 0 0\n1 sip:127.0.0.1:%s 0 0\n' $uas1 $uas2 >"$work/dispatcher.list"
      mkdir -p "$work/kam"
      /usr/sbin/kamailio -DD -E -f "$here/kamailio-dispatcher.cfg" -Y "$work/kam" -w "$work/kam" -m "${BENCH_KAM_SHM:-1024}" -M 16 \
        -A LISTEN=udp:127.0.0.1:$kam_port -A "DSLIST=\"$work/dispatcher.list\"" >"$work/kamailio.log" 2>&1 &
      proxy=$!; pids+=("$proxy"); wait_udp $kam_port; dst=127.0.0.1:$kam_port ;;
    sipedge)
      [ -x "$bin" ] || { echo "bench: $bin missing (make build)" >&2; exit 1; }
      cat >"$work/sipedge.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [example.test]
trusted: [127.0.0.1/32]
sets:
  pbx: {algorithm: hash-callid, members: [sip:127.0.0.1:$uas1, sip:127.0.0.1:$uas2]}
routes:
  - to: [set:pbx]
log: {level: warn, format: text}
YAML
      "$bin" serve --config "$work/sipedge.yaml" >"$work/sipedge.log" 2>&1 &
      proxy=$!; pids+=("$proxy"); wait_udp $gw_port; dst=127.0.0.1:$gw_port ;;
    *) echo "bench: unknown target $t" >&2; exit 1 ;;
  esac
  local d0 proxy_port=$gw_port
  [ "$t" = kamailio ] && proxy_port=$kam_port
  d0="$(udp_drops)"
  # The UAC's socket is gone when it exits: sample its drops meanwhile.
  (while :; do sock_drops $uac_port >"$work/uac-drops-$t.tmp" && mv "$work/uac-drops-$t.tmp" "$work/uac-drops-$t"; sleep 0.5; done) &
  local sampler=$!
  timeout -k 2 $((dur + 3)) /usr/bin/sipp -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port -t u1 -s 15551234 \
    -nostdin -max_recv_loops 10000 -buff_size 4194304 -r "$rate" -l "$limit" -d 0 -timeout "${dur}s" \
    -trace_stat -fd 1 -stf "$work/uac-$t.csv" -trace_err -error_file "$work/uac-$t-errors.log" \
    "$dst" >"$work/uac-$t.out" 2>&1 || true
  read -r ok bad[$t] cps[$t] < <(awk -F';' -v dur="$dur" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
    { split($c["ElapsedTime(C)"],tt,":"); secs=tt[1]*3600+tt[2]*60+tt[3];
      if (secs<=dur || !have) { have=1; s=secs; ok=$c["SuccessfulCall(C)"]; nb=$c["FailedCall(C)"] } }
    END{ printf "%d %d %.1f\n", ok, nb, (s>0? ok/s : 0) }' "$work/uac-$t.csv")
  stop "$sampler"
  drops[$t]="proxy $(sock_drops $proxy_port), caller $(cat "$work/uac-drops-$t" 2>/dev/null || echo ?), members $(sock_drops $uas1)/$(sock_drops $uas2), host $(($(udp_drops) - d0))"
  stop "$proxy"
  local p n1 n2
  for m in m1 m2; do p="$(cat "$work/$m-$t.pid")"; kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  n1=0 n2=0
  for f in "$uas_dir"/*_counts.csv; do
    v="$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if ($i ~ /_INVITE_Recv$/ && !col) col=i; next} {v=$col} END{print v+0}' "$f")"
    if [ "$n1" = 0 ]; then n1=$v; else n2=$v; fi
  done
  split[$t]="$n1/$n2"
  printf 'sets %-9s %8s calls/s  (%s successful, %s failed in %ss; INVITEs per member %s; UDP drops: %s)\n' \
    "$t" "${cps[$t]}" "$ok" "${bad[$t]}" "$dur" "${split[$t]}" "${drops[$t]}"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) CPUs)"
for t in $targets; do run "$t"; done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${cps[kamailio]:-}" ] && [ -n "${cps[sipedge]:-}" ]; then
  printf 'two-member hash set, peak calls/s: sipedge %s, kamailio %s, ratio %s (target >= 1.20)\n' \
    "${cps[sipedge]}" "${cps[kamailio]}" "$(awk -v s="${cps[sipedge]}" -v k="${cps[kamailio]}" 'BEGIN{ if (k>0) printf "%.2f", s/k; else printf "n/a" }')"
fi
echo "logs and statistics: $work"
[ "${bad[sipedge]:-0}" = 0 ] || { echo "bench: sipedge had failed calls" >&2; exit 1; }
