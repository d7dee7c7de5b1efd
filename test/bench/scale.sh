#!/usr/bin/env bash
# Scale-out benchmark of issue 16 (make bench): calls to registered users,
# with the location store in memory and on a redis-server, sipedge and
# Kamailio 5.6 side by side in one run, targets alternating round by round:
#
#   sipedge         - in-memory location store (the default)
#   sipedge-redis   - cluster: {node, redis} on the redis-server started here
#   kamailio        - kamailio-location.cfg, usrloc in memory (db_mode 0)
#   kamailio-redis  - the same, usrloc db_mode 3 on db_redis (every lookup
#                     and save in Redis; Debian kamailio-redis-modules)
#
# Each run, with fresh processes and Redis emptied:
#  1. SCALE_USERS users u0..uN (password "pw", MD5 digest, qop=auth)
#     register once each from the port the UAS will then listen on
#     (test/bench/sipp/uac_register_users.xml, one SIPp run per user):
#     failures and the bindings in Redis after (redis-cli dbsize); the
#     REGISTER/s figures come from register.sh (kamailio-redis there too).
#  2. SIPp UAC (127.0.0.1, trusted on both) calls them in turn for
#     SCALE_DURATION s (sipp/uac_call_users.xml: INVITE sip:uX@example.test,
#     the proxy looks the user up and relays to the UAS, Record-Route, BYE),
#     closed loop: -r SCALE_RATE offered, -l SCALE_LIMIT concurrent.
#     Successful calls/s, failed calls, CPU per call of the proxy (all its
#     processes) and of redis-server.
#
# Environment: SCALE_TARGETS ("sipedge sipedge-redis kamailio
# kamailio-redis"), SCALE_ROUNDS (2), SCALE_USERS (100), SCALE_DURATION (10), SCALE_RATE (20000),
# SCALE_LIMIT (400), SIPEDGE_BIN (bin/sipedge). Every SIPp run is bounded
# by timeout(1) (< 60 s); everything started here is stopped on exit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=proc.sh
. "$here/proc.sh" # tree, cpu_ticks
root="$(cd "$here/../.." && pwd)"
scen="$here/sipp"
targets="${SCALE_TARGETS:-sipedge sipedge-redis kamailio kamailio-redis}"
rounds="${SCALE_ROUNDS:-2}"
users="${SCALE_USERS:-100}"
dur="${SCALE_DURATION:-10}"
rate="${SCALE_RATE:-20000}"
limit="${SCALE_LIMIT:-400}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
gw_port=15360 kam_port=15370 uac_port=15380 uas_port=15390 redis_port=15395
domain=example.test
hz="$(getconf CLK_TCK)"

for f in /usr/bin/sipp /usr/sbin/kamailio /usr/bin/redis-server /usr/bin/redis-cli; do
  [ -x "$f" ] || { echo "scale: $f missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
if [[ " $targets " == *" kamailio-redis "* ]] && [ ! -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_redis.so ]; then
  echo "scale: db_redis.so missing (apt-get install kamailio-redis-modules; scripts/install-deps.sh)" >&2; exit 1
fi
[ -x "$bin" ] || { echo "scale: $bin missing (make build)" >&2; exit 1; }
for p in $gw_port $kam_port $uac_port $uas_port; do
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp; then
    echo "scale: UDP port $p on this host is in use" >&2; exit 1
  fi
done

work="$(mktemp -d /tmp/sipedge-scalebench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

wait_udp() { # PORT PID
  local hex i
  hex="$(printf '%04X' "$1")"
  for i in $(seq 1 400); do
    grep -qi "^ *[0-9]*: 0100007F:$hex " /proc/net/udp && return 0
    kill -0 "$2" 2>/dev/null || { echo "scale: process $2 exited before binding udp $1" >&2; return 1; }
    sleep 0.05
  done
  echo "scale: nothing bound to udp port $1 after 20s" >&2
  return 1
}


# stats CSV [WINDOW]: "ok failed secs" of the last SIPp statistics row
# (within WINDOW seconds when given).
stats() {
  awk -F';' -v win="${2:-0}" 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
    { split($c["ElapsedTime(C)"],e,":"); secs=e[1]*3600+e[2]*60+e[3];
      if (win==0 || secs<=win || !have) { have=1; ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"]; s=secs } }
    END{ printf "%d %d %d\n", ok, bad, s }' "$1"
}

for i in $(seq 0 $((users - 1))); do echo "u$i"; done | sed '1i SEQUENTIAL' >"$work/users.csv"

redis-server --bind 127.0.0.1 --port $redis_port --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!; pids+=("$redis_pid")
for _ in $(seq 1 100); do redis-cli -p $redis_port ping >/dev/null 2>&1 && break; sleep 0.05; done

start_proxy() { # TARGET NAME; sets proxy_pid, dst
  case $1 in
    kamailio|kamailio-redis)
      local db=()
      [ "$1" = kamailio-redis ] && db=(-A "DBURL=\"redis://127.0.0.1:$redis_port/0\"")
      mkdir -p "$work/kam-$2"
      /usr/sbin/kamailio -DD -E -f "$here/kamailio-location.cfg" -Y "$work/kam-$2" -w "$work/kam-$2" -m "${BENCH_KAM_SHM:-1024}" -M 16 \
        -A LISTEN=udp:127.0.0.1:$kam_port -A "DOMAIN=\"$domain\"" -A 'PASSWORD="pw"' "${db[@]}" \
        >"$work/kamailio-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $kam_port "$proxy_pid"
      dst=127.0.0.1:$kam_port ;;
    sipedge|sipedge-redis)
      {
        printf 'listen: [udp://127.0.0.1:%d]\ndomains: [%s]\ntrusted: [127.0.0.1/32]\n' $gw_port $domain
        printf 'log: {level: warn, format: text}\nusers:\n'
        for i in $(seq 0 $((users - 1))); do printf '  u%d: {password: pw}\n' "$i"; done
        if [ "$1" = sipedge-redis ]; then
          printf 'cluster: {node: bench, redis: "redis://127.0.0.1:%d", address: "sip:127.0.0.1:%d"}\n' $redis_port $gw_port
        fi
      } >"$work/$2.yaml"
      "$bin" serve --config "$work/$2.yaml" >"$work/$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $gw_port "$proxy_pid"
      dst=127.0.0.1:$gw_port ;;
    *) echo "scale: unknown target $1" >&2; exit 1 ;;
  esac
}

declare -A fps cps
run_one() { # TARGET ROUND
  local t=$1 name=$1-$2 c0 c1 r0 r1 t0 t1 rok rbad keys ok bad secs cok cbad csecs
  redis-cli -p $redis_port flushall >/dev/null
  start_proxy "$t" "$name"
  sleep 0.3
  # 1. Register every user from the UAS's port.
  c0=$(cpu_ticks "$proxy_pid"); r0=$(cpu_ticks "$redis_pid"); t0=$(date +%s%N)
  # SIPp 3.6 takes no injected field inside [authentication]: one SIPp
  # run per user (-au), so this step's flows/s include SIPp's start-up;
  # register.sh measures REGISTER/s properly.
  local u
  for u in $(seq 0 $((users - 1))); do
    printf 'SEQUENTIAL\nu%d\n' "$u" >"$work/user.csv"
    timeout -k 2 10 /usr/bin/sipp -sf "$scen/uac_register_users.xml" -inf "$work/user.csv" -au "u$u" -ap pw \
      -i 127.0.0.1 -p $uas_port -t u1 -m 1 -nostdin -trace_stat -fd 1 -stf "$work/reg-$name-$u.csv" \
      -trace_err -error_file "$work/reg-$name-errors.log" "$dst" >/dev/null 2>&1 || true
  done
  t1=$(date +%s%N); c1=$(cpu_ticks "$proxy_pid"); r1=$(cpu_ticks "$redis_pid")
  rok=0 rbad=0
  for f in "$work"/reg-"$name"-[0-9]*.csv; do
    read -r o b _ < <(stats "$f"); rok=$((rok + o)); rbad=$((rbad + b))
  done
  keys=$(redis-cli -p $redis_port dbsize)
  fps[$name]=$(awk -v ok="$rok" -v ns=$((t1 - t0)) 'BEGIN{ printf "%.0f", ok/(ns/1e9) }')
  printf 'register round %d %-14s %6s flows/s (one SIPp per user)  (%d ok, %d failed of %d users)  CPU/flow %s us, redis-server %s us  (%s keys in Redis)\n' \
    "$2" "$t" "${fps[$name]}" "$rok" "$rbad" "$users" \
    "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$rok" 'BEGIN{ printf "%.0f", (n>0? c/hz*1e6/n : 0) }')" \
    "$(awk -v c=$((r1 - r0)) -v hz="$hz" -v n="$rok" 'BEGIN{ printf "%.0f", (n>0? c/hz*1e6/n : 0) }')" "$keys"
  # 2. Calls to them.
  /usr/bin/sipp -sf "$root/test/testdata/sipp/uas_call.xml" -i 127.0.0.1 -p $uas_port -t u1 -nostdin \
    -max_recv_loops 10000 -buff_size 4194304 >"$work/uas-$name.out" 2>&1 &
  local uas_pid=$!; pids+=("$uas_pid")
  wait_udp $uas_port "$uas_pid"
  c0=$(cpu_ticks "$proxy_pid"); r0=$(cpu_ticks "$redis_pid")
  (sleep "$dur"; { cpu_ticks "$proxy_pid"; cpu_ticks "$redis_pid"; } >"$work/cpu-$name") & pids+=("$!")
  timeout -k 2 $((dur + 3)) /usr/bin/sipp -sf "$scen/uac_call_users.xml" -inf "$work/users.csv" -i 127.0.0.1 -p $uac_port -t u1 \
    -r "$rate" -l "$limit" -d 0 -timeout "${dur}s" -nostdin -max_recv_loops 10000 -buff_size 4194304 \
    -trace_stat -fd 1 -stf "$work/uac-$name.csv" -trace_err -error_file "$work/uac-$name-errors.log" \
    "$dst" >"$work/uac-$name.out" 2>&1 || true
  { read -r c1; read -r r1; } <"$work/cpu-$name" || { c1=$c0; r1=$r0; }
  read -r cok cbad csecs < <(stats "$work/uac-$name.csv" "$dur")
  stop "$uas_pid"; stop "$proxy_pid"
  cps[$name]=$(awk -v ok="$cok" -v s="$csecs" 'BEGIN{ printf "%.0f", (s>0? ok/s : 0) }')
  printf 'calls    round %d %-14s %6s calls/s  (%d ok, %d failed in %ds)  CPU/call %s us, redis-server %s us\n' \
    "$2" "$t" "${cps[$name]}" "$cok" "$cbad" "$csecs" \
    "$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$cok" 'BEGIN{ printf "%.0f", (n>0? c/hz*1e6/n : 0) }')" \
    "$(awk -v c=$((r1 - r0)) -v hz="$hz" -v n="$cok" 'BEGIN{ printf "%.0f", (n>0? c/hz*1e6/n : 0) }')"
}

echo "== $users users register, then calls to them for ${dur}s (SIPp -r $rate -l $limit); load: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs) $(date -u +%FT%TZ)"
for r in $(seq 1 "$rounds"); do
  order="$targets"
  [ $((r % 2)) = 0 ] && order="$(tr ' ' '\n' <<<"$targets" | tac | tr '\n' ' ')"
  for t in $order; do run_one "$t" "$r"; done
  awk -v r="$r" -v s="${cps[sipedge-$r]:-0}" -v sr="${cps[sipedge-redis-$r]:-0}" -v k="${cps[kamailio-$r]:-0}" -v kr="${cps[kamailio-redis-$r]:-0}" \
    -v fs="${fps[sipedge-$r]:-0}" -v fsr="${fps[sipedge-redis-$r]:-0}" -v fk="${fps[kamailio-$r]:-0}" -v fkr="${fps[kamailio-redis-$r]:-0}" '
    function ratio(a, b) { return b > 0 && a > 0 ? sprintf("%.2f", a/b) : "n/a" }
    BEGIN{ printf "round %d calls/s: sipedge-redis/sipedge %s, sipedge-redis/kamailio-redis %s, sipedge/kamailio %s; REGISTER/s: sipedge-redis/sipedge %s, sipedge-redis/kamailio-redis %s, sipedge/kamailio %s\n",
      r, ratio(sr, s), ratio(sr, kr), ratio(s, k), ratio(fsr, fs), ratio(fsr, fkr), ratio(fs, fk) }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "logs and statistics: $work"
