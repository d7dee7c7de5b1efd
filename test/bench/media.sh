#!/usr/bin/env bash
# Signalling delay sipedge adds with media anchored by the real rtpengine
# (make bench): INVITE in -> INVITE out and 200 in -> 200 out, including the
# rtpengine offer/answer round trips, at increasing call rates; prints p50,
# p95 and p99 per rate and the highest rate whose p99 stays under 5 ms.
# The same harness then measures sipedge without media and Kamailio (the
# benchmark peer, kamailio.cfg) to show what this machine itself adds.
#
# Environment: SIGDELAY_RATES ("50,100,200,400,800"), SIGDELAY_DURATION (5s),
# SIPEDGE_BIN (bin/sipedge).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${SIPEDGE_BIN:-$root/bin/sipedge}"
rates="${SIGDELAY_RATES:-50,100,200,400,800}"
dur="${SIGDELAY_DURATION:-5s}"
ng_port=15222 gw_port=15180 plain_port=15181 kam_port=15182 callee_port=15191

[ -x /usr/bin/rtpengine ] || { echo "media bench: /usr/bin/rtpengine missing (run scripts/install-deps.sh)" >&2; exit 1; }
work="$(mktemp -d /tmp/sipedge-media-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

go build -o "$work/sigdelay" "$root/test/bench/sigdelay"

/usr/bin/rtpengine --config-file=none --table=-1 --interface=127.0.0.1 \
  --listen-ng=127.0.0.1:$ng_port --foreground --log-stderr --log-level=3 \
  --port-min=46000 --port-max=52000 --delete-delay=0 >"$work/rtpengine.log" 2>&1 &
pids+=($!)

"$work/sigdelay" -ping-ng 127.0.0.1:$ng_port   # rtpengine ready before sipedge pings it

cat >"$work/sipedge.yaml" <<YAML
listen: [udp://127.0.0.1:$gw_port]
domains: [example.test]
trusted: [127.0.0.1/32]
routes:
  - to: [sip:127.0.0.1:$callee_port]
rtpengine: {nodes: [udp:127.0.0.1:$ng_port]}
media: {classic_to_classic: anchor}   # every call goes through rtpengine
log: {level: warn}
YAML
"$bin" serve --config "$work/sipedge.yaml" >"$work/sipedge.log" 2>&1 &
pids+=($!)

# readiness (bounded): sipedge logged its listener
for i in $(seq 1 100); do
  if grep -q 'msg=listening' "$work/sipedge.log" 2>/dev/null; then break; fi
  sleep 0.1
done

echo "== signalling delay through sipedge + rtpengine (rates $rates, $dur each)"
"$work/sigdelay" -proxy 127.0.0.1:$gw_port -callee 127.0.0.1:$callee_port -rates "$rates" -duration "$dur"

sed -e "s/$gw_port/$plain_port/" -e '/^rtpengine:/d' -e '/^media:/d' "$work/sipedge.yaml" >"$work/plain.yaml"
"$bin" serve --config "$work/plain.yaml" >"$work/plain.log" 2>&1 &
pids+=($!)
for i in $(seq 1 100); do grep -q 'msg=listening' "$work/plain.log" 2>/dev/null && break; sleep 0.1; done
echo "== baseline: sipedge without media"
"$work/sigdelay" -proxy 127.0.0.1:$plain_port -callee 127.0.0.1:$callee_port -rates "$rates" -duration "$dur"

if [ -x /usr/sbin/kamailio ]; then
  mkdir -p "$work/kam"
  /usr/sbin/kamailio -DD -E -f "$here/kamailio.cfg" -Y "$work/kam" -w "$work/kam" -m "${BENCH_KAM_SHM:-1024}" -M 16 \
    -A LISTEN=udp:127.0.0.1:$kam_port -A "NEXTHOP=\"sip:127.0.0.1:$callee_port\"" >"$work/kamailio.log" 2>&1 &
  pids+=($!)
  for i in $(seq 1 100); do ss -lun | grep -q ":$kam_port " && break; sleep 0.1; done
  echo "== baseline: Kamailio (same harness, no media)"
  "$work/sigdelay" -proxy 127.0.0.1:$kam_port -callee 127.0.0.1:$callee_port -rates "$rates" -duration "$dur"
fi
