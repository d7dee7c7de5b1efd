# Sourced by ws.sh and kamailio-ws.sh (from the repository root): raises the
# descriptor limit for CONNS connections and makes sure SIPEDGE_BIN names a
# built sipedge (the test binary wants one even when it does not start it).

# Each connection is one descriptor in the server and one in the client.
want=$((CONNS * 2 + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
echo "ulimit -n: $(ulimit -n)"

bin="${SIPEDGE_BIN:-$PWD/bin/sipedge}"
if [ ! -x "$bin" ]; then
  go build -o "$bin" ./cmd/sipedge
fi
export SIPEDGE_BIN="$bin"
