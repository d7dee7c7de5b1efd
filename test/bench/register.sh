#!/usr/bin/env bash
# Digest REGISTER throughput and challenge floods on loopback (make bench,
# issue 11), Kamailio 5.6 and sipedge side by side in one run:
#
#  1. REGISTER with MD5 digest: SIPp's uac_register.xml (REGISTER, 401,
#     REGISTER with [authentication], 200), one user, BENCH_REG_FLOWS flows
#     per run, runs alternating kamailio, sipedge, kamailio, sipedge, ...
#     (BENCH_REG_ROUNDS pairs). Kamailio runs kamailio-register.cfg
#     (pv_auth_check + save, usrloc in memory); sipedge a default config
#     plus that user. Prints flows/s, failures and the peak memory of each
#     (sampled every 100 ms: sipedge's VmRSS; Kamailio's processes' summed
#     Pss, since its workers share memory), user+system CPU per flow of
#     the proxy (all its processes) and of SIPp, and sipedge/kamailio per
#     round.
#  2. Challenge flood: BENCH_FLOOD_N unauthenticated REGISTERs (random
#     Call-IDs, one source) at BENCH_FLOOD_RATE/s, twice, against a fresh
#     process of each: memory before, after each burst, and the growth.
#
# Environment: BENCH_REG_FLOWS (60000), BENCH_REG_ROUNDS (2),
# BENCH_REG_RATE offered flows/s (30000), BENCH_REG_LIMIT concurrent flows
# (200), BENCH_FLOOD_N (100000), BENCH_FLOOD_RATE (40000), SIPEDGE_BIN
# (bin/sipedge), BENCH_REG_CASES ("register flood"), BENCH_REG_TARGETS
# ("kamailio sipedge"; add sipedge-redis for sipedge with its registrations
# shared on a redis-server started here, and kamailio-redis for Kamailio
# with usrloc db_mode 3 on db_redis on the same server, issue 16). Every
# process is killed on exit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scen="$root/test/testdata/sipp"
flows="${BENCH_REG_FLOWS:-60000}"
rounds="${BENCH_REG_ROUNDS:-2}"
rate="${BENCH_REG_RATE:-30000}"
limit="${BENCH_REG_LIMIT:-200}"
flood_n="${BENCH_FLOOD_N:-100000}"
flood_rate="${BENCH_FLOOD_RATE:-40000}"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
cases="${BENCH_REG_CASES:-register flood}"
targets="${BENCH_REG_TARGETS:-kamailio sipedge}"
kam_port=15170 gw_port=15160 uac_port=15180 redis_port=15190
user=alice password=alice-secret domain=example.test

for tool in /usr/bin/sipp /usr/sbin/kamailio; do
  [ -x "$tool" ] || { echo "bench: $tool missing (run scripts/install-deps.sh)" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "bench: $bin missing (make build)" >&2; exit 1; }
for p in $kam_port $gw_port $uac_port; do
  if grep -qi ":$(printf '%04X' "$p") " /proc/net/udp; then
    echo "bench: UDP port $p on this host is in use" >&2; exit 1
  fi
done

work="$(mktemp -d /tmp/sipedge-regbench.XXXXXX)"
(cd "$root" && go build -o "$work/regflood" ./test/bench/regflood)
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

# mem_kib KIND PID: sipedge's VmRSS, or the summed Pss of Kamailio's main
# process and its children (its workers share their memory), in KiB.
mem_kib() {
  if [[ "$1" != kamailio* ]]; then
    awk '/^VmRSS:/{print $2; f=1} END{if(!f) print 0}' "/proc/$2/status" 2>/dev/null || echo 0
    return
  fi
  local p sum=0 v
  for p in "$2" $(cat /proc/"$2"/task/*/children 2>/dev/null); do
    v=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

# cpu_ticks PID: user+system clock ticks of PID and its children so far.
cpu_ticks() {
  local p sum=0
  for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}

# sampler KIND PID OUT: writes the peak of mem_kib every 100 ms to OUT
# until killed.
sampler() {
  local peak=0 v
  while :; do
    v=$(mem_kib "$1" "$2")
    [ "$v" -gt "$peak" ] && { peak=$v; echo "$peak" >"$3"; }
    sleep 0.1
  done
}

start_target() { # KIND NAME; sets proxy_pid and dst
  case $1 in
    kamailio|kamailio-redis)
      local db=()
      if [ "$1" = kamailio-redis ]; then
        redis-cli -p $redis_port flushall >/dev/null
        db=(-A "DBURL=\"redis://127.0.0.1:$redis_port/0\"")
      fi
      mkdir -p "$work/kam-$2"
      /usr/sbin/kamailio -DD -E -f "$here/kamailio-register.cfg" -Y "$work/kam-$2" -w "$work/kam-$2" -m "${BENCH_KAM_SHM:-1024}" -M 16 \
        -A LISTEN=udp:127.0.0.1:$kam_port -A "DOMAIN=\"$domain\"" -A "PASSWORD=\"$password\"" "${db[@]}" \
        >"$work/kamailio-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $kam_port
      dst=127.0.0.1:$kam_port ;;
    sipedge|sipedge-redis)
      cat >"$work/sipedge.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [$domain]
users:
  $user: {password: $password}
log: {level: warn, format: text}
# Kamailio's side has no pike: bans off, or the challenge flood from one
# source would be banned after ban.max_requests instead of answered.
ban: {off: true}
YAML
      if [ "$1" = sipedge-redis ]; then
        redis-cli -p $redis_port flushall >/dev/null
        printf 'cluster: {node: bench, redis: "redis://127.0.0.1:%d", address: "sip:127.0.0.1:%d"}\n' $redis_port $gw_port >>"$work/sipedge.yaml"
      fi
      "$bin" serve --config "$work/sipedge.yaml" >"$work/sipedge-$2.log" 2>&1 &
      proxy_pid=$!; pids+=("$proxy_pid")
      wait_udp $gw_port
      dst=127.0.0.1:$gw_port ;;
  esac
  sleep 0.3 # let it settle before the first memory sample
}

# run_register KIND ROUND: one SIPp run of $flows flows; prints
# "flows/s ok failed before_kib peak_kib proxy_us_per_flow sipp_us_per_flow".
run_register() {
  local kind=$1 name=$1-$2 before peak t0 t1 ok bad c0 c1 hz
  hz=$(getconf CLK_TCK)
  start_target "$kind" "$name"
  before=$(mem_kib "$kind" "$proxy_pid")
  c0=$(cpu_ticks "$proxy_pid")
  sampler "$kind" "$proxy_pid" "$work/peak-$name" & local spid=$!
  pids+=("$spid")
  t0=$(date +%s%N)
  /usr/bin/time -f "%U %S" -o "$work/sipp-$name.time" timeout -k 2 300 /usr/bin/sipp -sf "$scen/uac_register.xml" -i 127.0.0.1 -p $uac_port -t u1 -s $user \
    -au $user -ap $password -m "$flows" -r "$rate" -l "$limit" -nostdin -max_recv_loops 10000 \
    -buff_size 4194304 -trace_stat -fd 1 -stf "$work/sipp-$name.csv" -trace_err -error_file "$work/sipp-$name-errors.log" \
    "$dst" >"$work/sipp-$name.out" 2>&1 || true
  t1=$(date +%s%N)
  c1=$(cpu_ticks "$proxy_pid")
  sleep 0.2
  stop "$spid"
  peak=$(cat "$work/peak-$name" 2>/dev/null || echo "$before")
  stop "$proxy_pid"
  read -r ok bad < <(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i; next}
    { ok=$c["SuccessfulCall(C)"]; bad=$c["FailedCall(C)"] } END{ printf "%d %d\n", ok, bad }' "$work/sipp-$name.csv")
  read -r su ss <"$work/sipp-$name.time" || { su=0; ss=0; }
  awk -v ok="$ok" -v bad="$bad" -v ns=$((t1 - t0)) -v b="$before" -v p="$peak" -v c=$((c1 - c0)) -v hz="$hz" \
    -v su="$su" -v ss="$ss" 'BEGIN{ n = ok > 0 ? ok : 1;
      printf "%.0f %d %d %d %d %.1f %.1f\n", ok/(ns/1e9), ok, bad, b, p, c/hz*1e6/n, (su+ss)*1e6/n }'
}

if [[ " $targets " == *"-redis "* ]]; then
  redis-server --bind 127.0.0.1 --port $redis_port --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=("$!")
  for i in $(seq 1 100); do redis-cli -p $redis_port ping >/dev/null 2>&1 && break; sleep 0.05; done
fi

if [[ " $cases " == *" register "* ]]; then
  echo "== digest REGISTER: $flows flows per run, one user, SIPp -r $rate -l $limit (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  for r in $(seq 1 "$rounds"); do
    declare -A fps
    for kind in $targets; do
      read -r f ok bad before peak pcpu scpu < <(run_register "$kind" "$r")
      fps[$kind]=$f
      printf 'round %d %-8s %7s flows/s  (%s ok, %s failed)  memory %6.1f MB before, peak %6.1f MB  CPU/flow %s us (SIPp %s us)\n' \
        "$r" "$kind" "$f" "$ok" "$bad" "$(awk -v k="$before" 'BEGIN{print k/1024}')" "$(awk -v k="$peak" 'BEGIN{print k/1024}')" "$pcpu" "$scpu"
    done
    awk -v s="${fps[sipedge]:-0}" -v k="${fps[kamailio]:-0}" -v x="${fps[sipedge-redis]:-0}" -v kx="${fps[kamailio-redis]:-0}" -v r="$r" \
      'BEGIN{ if (k>0 && s>0) printf "round %d sipedge/kamailio: %.2f\n", r, s/k;
              if (x>0 && kx>0) printf "round %d sipedge-redis/kamailio-redis: %.2f\n", r, x/kx;
              if (x>0 && s>0) printf "round %d sipedge-redis/sipedge: %.2f\n", r, x/s;
              if (x>0 && k>0) printf "round %d sipedge-redis/kamailio: %.2f\n", r, x/k }'
  done
fi

if [[ " $cases " == *" flood "* ]]; then
  echo "== challenge flood: 2 bursts of $flood_n unauthenticated REGISTERs at $flood_rate/s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  for kind in $targets; do
    start_target "$kind" "flood"
    m0=$(mem_kib "$kind" "$proxy_pid")
    sampler "$kind" "$proxy_pid" "$work/peak-flood-$kind" & spid=$!
    pids+=("$spid")
    line="$kind: before $(awk -v k="$m0" 'BEGIN{printf "%.1f", k/1024}') MB"
    for b in 1 2; do
      res=$("$work/regflood" -target "$dst" -n "$flood_n" -rate "$flood_rate" -domain $domain -user $user -wait 1s)
      m=$(mem_kib "$kind" "$proxy_pid")
      echo "  $kind burst $b: $res"
      line="$line, after burst $b $(awk -v k="$m" 'BEGIN{printf "%.1f", k/1024}') MB"
    done
    stop "$spid"
    peak=$(cat "$work/peak-flood-$kind" 2>/dev/null || echo "$m0")
    stop "$proxy_pid"
    echo "$line, peak $(awk -v k="$peak" 'BEGIN{printf "%.1f", k/1024}') MB, growth $(awk -v a="$m" -v b="$m0" 'BEGIN{printf "%.1f", (a-b)/1024}') MB"
  done
fi
echo "logs and statistics: $work"
