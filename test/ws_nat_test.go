package test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/stun/v2"
)

// netnsEnv marks a test binary re-executed inside a private network
// namespace by inNetns.
const netnsEnv = "SIPEDGE_TEST_NETNS"

// inNetns re-runs the calling test (by name) in a new network namespace
// that has only a loopback interface (unshare -n as root, else unshare -rn),
// and reports whether the caller is already inside it. Outside, it runs the
// child, logs its output, fails the test if the child failed, and returns
// false: the caller returns. Tests that put private or documentation
// addresses (192.168.x, 192.0.2.x) into SIP messages run there, so that a
// proxy that wrongly sends to such an address gets "network unreachable"
// instead of sending a packet off the machine.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) == "1" {
		return true
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is required to run %s in a private network namespace: %v", t.Name(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append(unshareNetArgs(), "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		self, "-test.run", "^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd := exec.CommandContext(ctx, "unshare", args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", "SIPEDGE_BIN="+sipedgeBin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("in a private network namespace:\n%s", out.String())
	if err != nil {
		t.Fatalf("%s in a private network namespace (unshare %s: needs root, or user namespaces for unshare -rn): %v", t.Name(), strings.Join(unshareNetArgs(), " "), err)
	}
	if !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("%s did not pass in the network namespace", t.Name())
	}
	return false
}

// TestNATContactMismatch registers a UDP client whose Via sent-by
// (192.0.2.10:5060) and Contact (sip:carol@192.168.1.10:5060) name a
// private address it is not sending from: sipedge must detect the NAT and
// send a later INVITE to the real source address (the client's socket),
// where the client answers it and the call completes with SIPp.
//
// It runs in a network namespace of its own (see inNetns).
func TestNATContactMismatch(t *testing.T) {
	if !inNetns(t) {
		return
	}
	e := startWSEdge(t, func(c *proxyConfig) {
		c.NAT = map[string]any{"keepalive": map[string]any{"method": "off"}}
	})
	c := newUDPClient(t, e.gwUDP)
	// A REGISTER with the crafted Via and Contact, digest round included.
	reg := func(auth string) *sip.Response {
		c.cseq++
		var b strings.Builder
		fmt.Fprintf(&b, "REGISTER sip:example.test SIP/2.0\r\n")
		fmt.Fprintf(&b, "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%s;rport\r\n", randHex(8))
		fmt.Fprintf(&b, "From: <sip:carol@example.test>;tag=%s\r\nTo: <sip:carol@example.test>\r\n", c.tag)
		fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\nContact: <sip:carol@192.168.1.10:5060>\r\n", c.callID, c.cseq)
		if auth != "" {
			fmt.Fprintf(&b, "Authorization: %s\r\n", auth)
		}
		b.WriteString("Expires: 300\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
		return c.roundTrip(t, b.String(), c.cseq)
	}
	res := reg("")
	if res.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials: %d, want 401", res.StatusCode)
	}
	res = reg(authorize(t, challenge(t, res, "MD5"), "carol", "carol-secret", 1))
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d %s, want 200", res.StatusCode, res.Reason)
	}

	uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: e.gwUDP, Service: "carol"})
	inv := c.recvRequest(t, sip.INVITE, 10*time.Second)
	if inv.Recipient.Host != "192.168.1.10" || inv.Recipient.User != "carol" {
		t.Errorf("INVITE Request-URI %s, want the registered Contact sip:carol@192.168.1.10:5060", inv.Recipient.String())
	}
	tag := randHex(5)
	c.reply(t, inv, 200, "OK", tag, testSDP)
	// ACK and BYE are in-dialog: their Request-URI is our 200's private
	// Contact; sipedge must still send them to our real source address.
	c.recvRequest(t, sip.ACK, 10*time.Second)
	bye := c.recvRequest(t, sip.BYE, 10*time.Second)
	c.reply(t, bye, 200, "OK", "", "")
	uac.expectAllSuccessful(t, 1)
}

// recvRequest reads from the client's socket until a request with method
// arrives (answering nothing else), or fails the test after within.
func (c *udpClient) recvRequest(t *testing.T, method sip.RequestMethod, within time.Duration) *sip.Request {
	t.Helper()
	deadline := time.Now().Add(within)
	buf := make([]byte, 65535)
	for {
		_ = c.conn.SetReadDeadline(deadline)
		n, from, err := c.conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("waiting for %s on %s: %v", method, c.local, err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue // keepalive CRLF or garbage
		}
		if r, ok := m.(*sip.Request); ok && r.Method == method {
			if from.String() != c.remote.String() {
				t.Errorf("%s came from %s, want sipedge %s", method, from, c.remote)
			}
			return r
		}
	}
}

// reply answers req from the client's socket to sipedge.
func (c *udpClient) reply(t *testing.T, req *sip.Request, code int, reason, toTag, body string) {
	t.Helper()
	// The client still believes in its private address, as a NATed phone
	// does; sipedge must route in-dialog requests to the source.
	contact := ""
	if req.Method == sip.INVITE {
		contact = "sip:carol@192.168.1.10:5060"
	}
	if _, err := c.conn.WriteToUDP([]byte(sipResponse(req, code, reason, toTag, contact, body)), c.remote); err != nil {
		t.Fatal(err)
	}
}

// TestSTUNBinding sends STUN binding requests (pion/stun) from a few
// sockets to sipedge's stun:// listener: each answer's XOR-MAPPED-ADDRESS
// must be the socket's own address, and the transaction id must match.
func TestSTUNBinding(t *testing.T) {
	gw := startSipedge(t, proxyConfig{Listen: []string{"udp://127.0.0.1:0", "stun://127.0.0.1:0"}})
	server, err := net.ResolveUDPAddr("udp", gw.Addr(t, "stun"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		t.Run(ip, func(t *testing.T) {
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
			if _, err := conn.WriteToUDP(req.Raw, server); err != nil {
				t.Fatal(err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			buf := make([]byte, 1500)
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				t.Fatalf("no STUN answer: %v", err)
			}
			if from.String() != server.String() {
				t.Errorf("answer from %s, want %s", from, server)
			}
			res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if err := res.Decode(); err != nil {
				t.Fatalf("undecodable STUN answer: %v", err)
			}
			if res.Type != stun.BindingSuccess {
				t.Fatalf("answer type %s, want binding success", res.Type)
			}
			if res.TransactionID != req.TransactionID {
				t.Errorf("transaction id %x, want %x", res.TransactionID, req.TransactionID)
			}
			var xor stun.XORMappedAddress
			if err := xor.GetFrom(res); err != nil {
				t.Fatalf("no XOR-MAPPED-ADDRESS: %v", err)
			}
			local := conn.LocalAddr().(*net.UDPAddr)
			if !xor.IP.Equal(local.IP) || xor.Port != local.Port {
				t.Errorf("XOR-MAPPED-ADDRESS %s, want the client's socket %s", xor.String(), local)
			}
		})
	}
}
