#!/usr/bin/env bash
# make demo: runs sipedge with config/examples/demo.yaml, rtpengine on
# loopback and two classic SIP endpoints (SIPp), so a browser can register
# and call. Everything listens on 127.0.0.1 only; Ctrl-C stops it all.
#   600  echo: SIPp UAS that sends every RTP packet back (hear yourself)
#   700  announcement: SIPp UAS playing a G.711 A-law recording
#   alice / bob  two demo users: two browser tabs can call each other
# `make demo` installs the packages and builds bin/sipedge (with the
# embedded softphone) first; run alone, this script builds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=demo-run
CONFIG=config/examples/demo.yaml
BIN=${SIPEDGE_BIN:-bin/sipedge}
NG_PORT=22222
mkdir -p "$RUN"

for tool in rtpengine sipp openssl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "demo: $tool is missing: run make demo (or scripts/install-deps.sh)" >&2; exit 1; }
done
[ -x "$BIN" ] || make build

for port in 5060 5080 5081 8443; do
  if ss -Hltun "sport = :$port" 2>/dev/null | grep -q .; then
    echo "demo: port $port on this machine is in use; stop what uses it (ss -ltunp 'sport = :$port')" >&2
    exit 1
  fi
done

if [ ! -s "$RUN/cert.pem" ] || [ ! -s "$RUN/key.pem" ]; then
  echo "demo: creating a self-signed certificate for 127.0.0.1 and localhost in $RUN/"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=sipedge-demo -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$RUN/key.pem" -out "$RUN/cert.pem" 2>/dev/null
fi

# The announcement endpoint: answer with PCMA, play the recording SIPp ships.
cat > "$RUN/uas_announce.xml" <<'XML'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="sipedge demo announcement">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:700@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=- 1 1 IN IP[local_ip_type] [local_ip]
s=sipedge demo announcement
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8
a=rtpmap:8 PCMA/8000
a=sendrecv
]]></send>
  <recv request="ACK" crlf="true"/>
  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
</scenario>
XML

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "demo: stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: stopped (logs in $RUN/)"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

# wait_for FILE PATTERN WHAT: until PATTERN shows up in FILE (at most 10 s).
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: $3 did not start; see $1" >&2
  tail -20 "$1" >&2 || true
  exit 1
}

rtpengine --config-file=none --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:$NG_PORT \
  --foreground --log-stderr --port-min=30000 --port-max=30999 --delete-delay=0 \
  >"$RUN/rtpengine.log" 2>&1 &
pids+=($!)
wait_for "$RUN/rtpengine.log" "Startup complete" rtpengine

sipp -sn uas -i 127.0.0.1 -p 5080 -mi 127.0.0.1 -mp 6000 -rtp_echo -nostdin \
  >"$RUN/sipp-echo.log" 2>&1 &
pids+=($!)
sipp -sf "$RUN/uas_announce.xml" -i 127.0.0.1 -p 5081 -mi 127.0.0.1 -mp 6100 -nostdin \
  >"$RUN/sipp-announce.log" 2>&1 &
pids+=($!)

"$BIN" check --config "$CONFIG" >/dev/null
"$BIN" serve --config "$CONFIG" >"$RUN/sipedge.log" 2>&1 &
pids+=($!)
wait_for "$RUN/sipedge.log" "msg=listening transport=wss" sipedge

cat <<EOF

  sipedge demo is running.

  Open   https://127.0.0.1:8443/   (accept the self-signed certificate)
  Users  alice / alice-demo     bob / bob-demo    (SIP domain 127.0.0.1)
  Call   600  echo (you hear yourself)
         700  announcement (a recorded G.711 message)
         bob  from alice in a second tab (or a second browser)

  Logs   $RUN/sipedge.log  $RUN/rtpengine.log  $RUN/sipp-*.log
  Stop   Ctrl-C

EOF
# Run until Ctrl-C or until one of the processes dies.
wait -n "${pids[@]}" || true
echo "demo: a process exited; see $RUN/*.log" >&2
exit 1
