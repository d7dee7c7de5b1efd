package test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// logLines returns the lines of sipedge's log that contain every one of subs.
func logLines(p *sipedgeProc, subs ...string) []string {
	var out []string
	for _, line := range strings.Split(p.Log(), "\n") {
		ok := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				ok = false
				break
			}
		}
		if ok && line != "" {
			out = append(out, line)
		}
	}
	return out
}

// waitLog waits (polling sipedge's log, at most within) until at least n
// lines contain every one of subs, and fails the test otherwise.
func waitLog(t *testing.T, p *sipedgeProc, within time.Duration, n int, subs ...string) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		lines := logLines(p, subs...)
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("sipedge logged %d lines with %q within %v, want %d", len(lines), subs, within, n)
		}
		pause(10 * time.Millisecond)
	}
}

// udpInvite sends an INVITE for ruri from a fresh UDP socket on 127.0.0.1
// (trusted by the edge, so not challenged), ACKs a failure answer and
// returns the final status code and how long it took to arrive.
func udpInvite(t *testing.T, gw, ruri string) (int, time.Duration) {
	t.Helper()
	c := newUDPClient(t, gw)
	branch := "z9hG4bK" + randHex(8)
	head := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=%s;rport\r\nFrom: <sip:sipp@%s>;tag=%s\r\n", c.local, branch, c.local, c.tag)
	inv := fmt.Sprintf("INVITE %s SIP/2.0\r\n%sTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:sipp@%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		ruri, head, ruri, c.callID, c.local, len(testSDP), testSDP)
	start := time.Now()
	res := c.roundTrip(t, inv, 1)
	elapsed := time.Since(start)
	if res.StatusCode >= 300 {
		ack := fmt.Sprintf("ACK %s SIP/2.0\r\n%s%s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			ruri, head, "To: "+res.To().Value(), c.callID)
		if _, err := c.conn.WriteToUDP([]byte(ack), c.remote); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, elapsed
}

// waitNoBindings queries alice's bindings from probe until there are none.
func waitNoBindings(t *testing.T, probe *wsUA) {
	t.Helper()
	for range 100 {
		if len(probe.Bindings()) == 0 {
			return
		}
		pause(20 * time.Millisecond)
	}
	t.Fatalf("%s still has bindings 2s after the flow closed: %q", probe.user, probe.Bindings())
}

// TestWSDisconnect closes a registered client's WebSocket (cleanly, and by
// dropping the TCP connection): its binding must go, and an INVITE to it
// must be refused with 430 or 480 at once (under 1 s), not time out.
func TestWSDisconnect(t *testing.T) {
	e := startWSEdge(t, nil)
	tests := []struct {
		name      string
		transport string
		drop      func(u *wsUA)
	}{
		{"ws close 1000", "ws", func(u *wsUA) { u.Close() }},
		{"ws tcp dropped", "ws", func(u *wsUA) { u.conn.CloseNow(); <-u.done }},
		{"wss close 1000", "wss", func(u *wsUA) { u.Close() }},
		{"wss tcp dropped", "wss", func(u *wsUA) { u.conn.CloseNow(); <-u.done }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := wsDialOpts{Pool: e.pool, LocalIP: wsBrowserIP}
			ua := newWSUA(t, e.url(tt.transport), "alice", "alice-secret", opts)
			ua.Register()
			probe := newWSUA(t, e.url(tt.transport), "alice", "alice-secret", opts)
			if got := probe.Bindings(); len(got) != 1 || !strings.Contains(got[0], ua.host) {
				t.Fatalf("bindings after REGISTER: %q, want one with %s", got, ua.host)
			}
			tt.drop(ua)
			waitNoBindings(t, probe)
			code, took := udpInvite(t, e.gwUDP, "sip:alice@example.test")
			if code != 430 && code != 480 {
				t.Errorf("INVITE to a user whose flow closed: %d, want 430 or 480", code)
			}
			if took >= time.Second {
				t.Errorf("INVITE to a user whose flow closed answered after %v, want < 1s", took)
			}
			t.Logf("INVITE to the disconnected user: %d after %v", code, took)
		})
	}
}

// TestWSDisconnectGrace runs with registrar.flow_grace: a client's binding
// outlives its closed WebSocket for the grace period, during which an INVITE
// to it gets 430 Flow Failed at once (RFC 5626); then it goes, and an
// INVITE gets 480.
func TestWSDisconnectGrace(t *testing.T) {
	const grace = 2 * time.Second
	e := startWSEdge(t, func(c *proxyConfig) {
		c.Registrar = map[string]any{"flow_grace": grace.String()}
	})
	opts := wsDialOpts{Pool: e.pool, LocalIP: wsBrowserIP}
	ua := newWSUA(t, e.url("wss"), "alice", "alice-secret", opts)
	ua.Register()
	probe := newWSUA(t, e.url("wss"), "alice", "alice-secret", opts)
	ua.Close()
	closed := time.Now()
	if got := probe.Bindings(); len(got) != 1 {
		t.Fatalf("bindings just after the close: %q, want the one in its grace period", got)
	}
	code, took := udpInvite(t, e.gwUDP, "sip:alice@example.test")
	if code != 430 || took >= time.Second {
		t.Fatalf("INVITE within the grace period: %d after %v, want 430 at once", code, took)
	}
	// The registrar sweeps once a second: gone within grace + 1 s.
	for deadline := closed.Add(grace + 3*time.Second); len(probe.Bindings()) != 0; pause(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("binding still there %v after the close (grace %v)", time.Since(closed), grace)
		}
	}
	if gone := time.Since(closed); gone < grace-200*time.Millisecond {
		t.Fatalf("binding gone %v after the close, before the %v grace", gone, grace)
	}
	if code, took := udpInvite(t, e.gwUDP, "sip:alice@example.test"); code != 480 || took >= time.Second {
		t.Fatalf("INVITE after the grace period: %d after %v, want 480 at once", code, took)
	}
}

// TestWSReconnectSameInstance registers alice with one +sip.instance on a
// first connection, then again on a second connection (a browser that
// reconnected): the 200 must list one binding, not two; closing the first
// connection afterwards must not remove it; calls reach the new connection.
func TestWSReconnectSameInstance(t *testing.T) {
	e := startWSEdge(t, nil)
	opts := wsDialOpts{Pool: e.pool, LocalIP: wsBrowserIP}
	instance := "urn:uuid:" + uuidLike()
	ua1 := newWSUA(t, e.wssURL, "alice", "alice-secret", opts)
	ua1.instance = instance
	ua1.Register()
	ua2 := newWSUA(t, e.wssURL, "alice", "alice-secret", opts)
	ua2.instance = instance
	res := ua2.Register()
	var contacts []string
	for _, h := range res.GetHeaders("Contact") {
		contacts = append(contacts, splitContacts(h.Value())...)
	}
	if len(contacts) != 1 || !strings.Contains(contacts[0], ua2.host) {
		t.Fatalf("200 for the re-REGISTER lists %q, want exactly one binding, the new connection's (%s)", contacts, ua2.host)
	}
	if !strings.Contains(contacts[0], instance) {
		t.Errorf("binding %q does not carry +sip.instance %s", contacts[0], instance)
	}
	// The old connection goes away: the binding now belongs to the new one.
	closedBefore := len(logLines(e.gw, "flow closed by peer"))
	ua1.Close()
	waitLog(t, e.gw, 5*time.Second, closedBefore+1, "flow closed by peer")
	if got := ua2.Bindings(); len(got) != 1 || !strings.Contains(got[0], ua2.host) {
		t.Fatalf("bindings after the old connection closed: %q, want one with %s", got, ua2.host)
	}
	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: e.gwUDP, Service: "alice"})
	d := ua2.Answer(10 * time.Second)
	d.WaitBye()
	uac.expectAllSuccessful(t, 1)
}

// uuidLike returns a random version-4-shaped UUID string.
func uuidLike() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
