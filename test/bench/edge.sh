#!/usr/bin/env bash
# Edge benchmarks of issue 14 (make bench), sipedge and Kamailio 5.6 side by
# side in one run, targets alternating round by round:
#
#  wss   - WSS connections/s, each with a new TLS 1.3 handshake: the Go
#          generator of test/ws_bench_test.go (BenchmarkWSRegister/wss:
#          dial, TLS 1.3 handshake, upgrade, REGISTER, 401, REGISTER with
#          MD5 digest, 200, close) pointed at an external target: sipedge
#          started here (ws + wss listeners, users u0..u63) or Kamailio with
#          kamailio-ws.cfg (tls + websocket, the same ECDSA P-256
#          certificate; the OpenSSL 3 fork fix of kamailio-tls-fork.c
#          preloaded). The negotiated protocol of each is checked once with
#          openssl s_client and printed. Prints reg/s (= connections/s) and
#          the server's CPU per connection.
#  flood - UDP calls/s while a banned source floods: SIPp UAC -> proxy ->
#          SIPp UAS (uac_call.xml/uas_call.xml as run.sh) at EDGE_RATE
#          calls/s for EDGE_DURATION s, while regflood sends
#          EDGE_FLOOD_RATE requests/s (EDGE_FLOOD_METHOD) from
#          EDGE_FLOOD_SOURCE (127.0.0.9). The flooder is banned first by a
#          one-second burst at the same rate (its answers are printed as
#          "to ban"); then the measured flood runs beside the calls and
#          every answer it gets is counted (banned: should be 0). sipedge
#          runs with its default bans (400 requests / 2 s, 15 min) and
#          127.0.0.1 trusted; Kamailio runs kamailio-edge.cfg (the default
#          config's WITH_ANTIFLOOD: pike 2/16/4 + htable ipban, scanner
#          drop). Prints calls/s achieved, failed calls, the proxy's CPU
#          (all its processes) as % of one core and per call, and answers
#          to the flood.
#
# Environment: EDGE_CASES ("wss flood"), EDGE_TARGETS ("kamailio sipedge"),
# EDGE_ROUNDS (2), EDGE_RATE (800, as run.sh's fixed run), EDGE_DURATION (15), EDGE_FLOOD_RATE
# (2000), EDGE_FLOOD_METHOD (INVITE; or OPTIONS, REGISTER),
# EDGE_FLOOD_SOURCE (127.0.0.9), EDGE_WSS_REGS (3000 per run),
# EDGE_WORKERS (64 clients), SIPEDGE_BIN (bin/sipedge). Every run is bounded
# (timeout) under 60 s; every process started here is stopped on exit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=proc.sh
. "$here/proc.sh" # tree, cpu_ticks
root="$(cd "$here/../.." && pwd)"
scen="$root/test/testdata/sipp"
cases="${EDGE_CASES:-wss flood}"
targets="${EDGE_TARGETS:-kamailio sipedge}"
rounds="${EDGE_ROUNDS:-2}"
rate="${EDGE_RATE:-800}"
dur="${EDGE_DURATION:-15}"
frate="${EDGE_FLOOD_RATE:-2000}"
fmethod="${EDGE_FLOOD_METHOD:-INVITE}"
fsrc="${EDGE_FLOOD_SOURCE:-127.0.0.9}"
regs="${EDGE_WSS_REGS:-3000}"
workers="${EDGE_WORKERS:-64}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
gw_port=15260 kam_port=15270 uac_port=15280 uas_port=15290
hz="$(getconf CLK_TCK)"
moddir=/usr/lib/x86_64-linux-gnu/kamailio/modules

for f in /usr/bin/sipp /usr/sbin/kamailio "$moddir/pike.so" "$moddir/htable.so" "$moddir/tls.so" "$moddir/websocket.so" /usr/bin/openssl /usr/bin/gcc; do
  [ -e "$f" ] || { echo "edge: $f missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "edge: $bin missing (make build)" >&2; exit 1; }
for p in $gw_port $kam_port $uac_port $uas_port; do
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp; then
    echo "edge: UDP port $p on this host is in use" >&2; exit 1
  fi
done

work="$(mktemp -d /tmp/sipedge-edgebench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(cd "$root" && go build -o "$work/regflood" ./test/bench/regflood)

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# wait_port PROTO PORT PID: until PID listens on 127.0.0.1:PORT (at most 20 s).
wait_port() {
  local hex i pat
  hex="$(printf '%04X' "$2")"
  pat="^ *[0-9]*: 0100007F:$hex "
  [ "$1" = tcp ] && pat="$pat"'00000000:0000 0A '
  for i in $(seq 1 400); do
    grep -qi "$pat" "/proc/net/$1" && return 0
    kill -0 "$3" 2>/dev/null || { echo "edge: process $3 exited before listening on $1 $2" >&2; return 1; }
    sleep 0.05
  done
  echo "edge: nothing listening on $1 port $2 after 20s" >&2
  return 1
}



# ---- flood: UDP calls/s beside a banned flooder ----

# start_udp_proxy TARGET NAME: sets proxy_pid and dst.
start_udp_proxy() {
  case $1 in
    kamailio)
      mkdir -p "$work/kam-$2"
      /usr/sbin/kamailio -DD -E -f "$here/kamailio-edge.cfg" -Y "$work/kam-$2" -w "$work/kam-$2" -m "${BENCH_KAM_SHM:-1024}" -M 16 \
        -A LISTEN=udp:127.0.0.1:$kam_port -A "NEXTHOP=\"sip:127.0.0.1:$uas_port\"" >"$work/kamailio-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_port udp $kam_port "$proxy_pid"
      dst=127.0.0.1:$kam_port ;;
    sipedge)
      cat >"$work/sipedge-$2.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [example.test]
trusted: [127.0.0.1/32]
routes:
  - to: [sip:127.0.0.1:$uas_port]
log: {level: warn, format: text}
YAML
      "$bin" serve --config "$work/sipedge-$2.yaml" >"$work/sipedge-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_port udp $gw_port "$proxy_pid"
      dst=127.0.0.1:$gw_port ;;
    *) echo "edge: unknown target $1" >&2; exit 1 ;;
  esac
}

# answered LINE: the "answered N" count of a regflood summary line.
answered() { sed -n 's/.*answered \([0-9]*\).*/\1/p' <<<"$1"; }

run_flood() { # TARGET ROUND
  local t=$1 name=$1-$2 calls=$((rate * dur)) ban fl fpid c0 c1 t0 t1 ok bad
  /usr/bin/sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p $uas_port -t u1 -nostdin \
    -max_recv_loops 10000 -buff_size 4194304 >"$work/uas-$name.out" 2>&1 &
  local uas_pid=$!; pids+=("$uas_pid")
  wait_port udp $uas_port "$uas_pid"
  start_udp_proxy "$t" "$name"
  # Ban the flooder: one second of the flood before the calls start.
  ban="$(timeout 10 "$work/regflood" -target "$dst" -source "$fsrc" -method "$fmethod" -n "$frate" -rate "$frate" -wait 0.5s)"
  # The measured flood outlasts the calls by a second or two.
  timeout 55 "$work/regflood" -target "$dst" -source "$fsrc" -method "$fmethod" -n $((frate * (dur + 2))) \
    -rate "$frate" -wait 1s >"$work/flood-$name.out" 2>&1 &
  fpid=$!; pids+=("$fpid")
  c0="$(cpu_ticks "$proxy_pid")"
  # The proxy's CPU over the calls' window (EDGE_DURATION + 2 s), not over
  # the stragglers SIPp waits for afterwards.
  (sleep $((dur + 2)); cpu_ticks "$proxy_pid" >"$work/cpu-$name") & pids+=("$!")
  timeout -k 2 $((dur + 35)) /usr/bin/sipp -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port -t u1 -s 15551234 \
    -nostdin -max_recv_loops 10000 -buff_size 4194304 -r "$rate" -m "$calls" -l $((rate * 5)) -d 0 \
    -trace_stat -fd 1 -stf "$work/uac-$name.csv" -trace_err -error_file "$work/uac-$name-errors.log" \
    "$dst" >"$work/uac-$name.out" 2>&1 || true
  wait "$fpid" 2>/dev/null || true
  fl="$(cat "$work/flood-$name.out")"
  c1="$(cat "$work/cpu-$name" 2>/dev/null || echo "$c0")"
  # ok/failed at the end, and successful calls/s within the window: the
  # last statistics row (-fd 1) at most EDGE_DURATION + 2 s in.
  read -r ok bad wok wsecs < <(awk -F';' -v win=$((dur + 2)) 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
    { split($c["ElapsedTime(C)"],e,":"); secs=e[1]*3600+e[2]*60+e[3];
      ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"]; if (secs<=win) { wok=ok; ws=secs } }
    END{ printf "%d %d %d %d\n", ok, bad, wok, ws }' "$work/uac-$name.csv")
  stop "$proxy_pid"; stop "$uas_pid"
  awk -v t="$t" -v r="$2" -v ok="$ok" -v bad="$bad" -v calls="$calls" -v wok="$wok" -v ws="$wsecs" -v win=$((dur + 2)) -v c=$((c1 - c0)) -v hz="$hz" \
    -v ban="$(answered "$ban")" -v bn="$frate" -v fa="$(answered "$fl")" -v fn=$((frate * (dur + 2))) -v banned="$(grep -c 'pike blocking\|source banned' "$work/$([ "$t" = kamailio ] && echo kamailio || echo sipedge)-$name.log" || true)" \
    'BEGIN{ n=(wok>0?wok:1);
      printf "flood round %d %-8s %7.1f calls/s (%d ok in the first %ds; in all %d ok, %d failed, %d unfinished of %d)  CPU %5.1f%% of a core, %4.0f us/call  flood: %d answers to the %d sent to ban it, %d answers to the %d sent while banned (ban lines logged: %d)\n",
        r, t, (ws>0? wok/ws : 0), wok, ws, ok, bad, calls-ok-bad, calls, c/hz/win*100, c/hz*1e6/n, ban, bn, fa, fn, banned }'
  echo "  $t ban burst: $ban"
  echo "  $t flood:     $fl"
}

# ---- wss: connections/s with a TLS 1.3 handshake each ----

wss_setup() {
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
  gcc -shared -fPIC -O2 -o "$work/kamailio-tls-fork.so" "$here/kamailio-tls-fork.c"
  (cd "$root" && go test -c -o "$work/ws.test" ./test/)
}

# start_ws_target TARGET NAME: sets ws_pid and the SIPEDGE_BENCH_TARGET_* environment.
start_ws_target() {
  local ws=15300 wss=15301
  case $1 in
    kamailio)
      mkdir -p "$work/kamws-$2"
      LD_PRELOAD="$work/kamailio-tls-fork.so" /usr/sbin/kamailio -DD -E -f "$here/kamailio-ws.cfg" \
        -Y "$work/kamws-$2" -w "$work/kamws-$2" -m 512 -M 32 \
        -A "WS_LISTEN=tcp:127.0.0.1:$ws" -A "WSS_LISTEN=tls:127.0.0.1:$wss" -A "TLS_CFG=\"$work/tls.cfg\"" \
        -A "USERS=$workers" -A "TCP_WORKERS=4" >"$work/kamailio-ws-$2.log" 2>&1 &
      ws_pid=$! ;;
    sipedge)
      {
        printf 'listen: [udp://127.0.0.1:%d, "ws://127.0.0.1:%d/ws", "wss://127.0.0.1:%d/ws"]\n' $gw_port $ws $wss
        printf 'domains: [example.test]\ntls: {cert: %s, key: %s}\nlog: {level: warn, format: text}\n' "$work/cert.pem" "$work/key.pem"
        printf 'routes:\n  - to: [sip:127.0.0.1:9]\nusers:\n'
        for i in $(seq 0 $((workers - 1))); do printf '  u%d: {password: pw}\n' "$i"; done
      } >"$work/sipedge-ws-$2.yaml"
      "$bin" serve --config "$work/sipedge-ws-$2.yaml" >"$work/sipedge-ws-$2.log" 2>&1 &
      ws_pid=$! ;;
  esac
  pids+=("$ws_pid")
  wait_port tcp $ws "$ws_pid"
  wait_port tcp $wss "$ws_pid"
  export SIPEDGE_BENCH_TARGET_WS="127.0.0.1:$ws" SIPEDGE_BENCH_TARGET_WSS="127.0.0.1:$wss" \
    SIPEDGE_BENCH_TARGET_PATH=/ws SIPEDGE_BENCH_TARGET_CERT="$work/cert.pem" SIPEDGE_BENCH_TARGET_PIDS="$ws_pid"
}

run_wss() { # TARGET ROUND
  local t=$1 name=$1-$2 proto out
  start_ws_target "$t" "$name"
  proto="$(timeout 5 openssl s_client -connect "$SIPEDGE_BENCH_TARGET_WSS" -servername localhost -brief </dev/null 2>&1 |
    awk -F': ' '/Protocol version/{v=$2} /Negotiated TLS1.3 group|Server Temp Key|Peer Temp Key/{g=$2} END{print v" "g}')"
  out="$(cd "$root/test" && SIPEDGE_BIN="$bin" SIPEDGE_BENCH_WORKERS="$workers" timeout 55 "$work/ws.test" \
    -test.run '^$' -test.bench '^BenchmarkWSRegister$/^wss$' -test.benchtime="${regs}x" -test.count=1 -test.timeout 55s 2>&1 |
    grep -E '^BenchmarkWSRegister' || true)"
  if [ "$t" = kamailio ] && grep -q "BUG:\|exited by a signal" "$work/kamailio-ws-$name.log"; then out="$out (Kamailio logged a crash)"; fi
  stop "$ws_pid"
  unset SIPEDGE_BENCH_TARGET_WS SIPEDGE_BENCH_TARGET_WSS SIPEDGE_BENCH_TARGET_PATH SIPEDGE_BENCH_TARGET_CERT SIPEDGE_BENCH_TARGET_PIDS
  awk -v t="$t" -v r="$2" -v proto="$proto" -v out="$out" 'BEGIN{
    n=split(out, f, /[ \t]+/); rs="?"; us="?"
    for (i=2; i<=n; i++) { if (f[i]=="reg/s") rs=f[i-1]; if (f[i] ~ /server-cpu/) us=f[i-1] }
    printf "wss   round %d %-8s %8s connections/s  %6s us server CPU/connection  (%s)\n", r, t, rs, us, proto }'
  [ -n "$out" ] || echo "  $t: the generator printed no result (see $work)"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  ($(nproc) CPUs)  $(date -u +%FT%TZ)"
[[ " $cases " != *" wss "* ]] || wss_setup
for r in $(seq 1 "$rounds"); do
  order="$targets"
  # Alternate which target goes first, round by round.
  [ $((r % 2)) = 0 ] && order="$(tr ' ' '\n' <<<"$targets" | tac | tr '\n' ' ')"
  for c in $cases; do
    for t in $order; do
      case $c in
        wss) run_wss "$t" "$r" ;;
        flood) run_flood "$t" "$r" ;;
        *) echo "edge: unknown case $c" >&2; exit 1 ;;
      esac
    done
  done
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo "logs and statistics: $work"
