package test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// udpClient is a minimal SIP client over UDP for what SIPp 3.6 cannot do:
// SHA-256 digest (SIPp only knows MD5 and AKAv1-MD5) and resending an
// Authorization header verbatim (a replayed nonce count). It writes
// requests as text and parses responses with sipgo's parser.
type udpClient struct {
	conn   *net.UDPConn
	remote *net.UDPAddr
	local  *net.UDPAddr
	callID string
	tag    string
	cseq   int
}

func newUDPClient(t *testing.T, remote string) *udpClient {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", remote)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &udpClient{conn: conn, remote: raddr, local: conn.LocalAddr().(*net.UDPAddr), callID: randHex(8) + "@test", tag: randHex(4)}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// register sends one REGISTER for user@example.test binding contact (the
// client's own address when empty), with the given Authorization header
// value (none when empty), and returns the final response.
func (c *udpClient) register(t *testing.T, user, contact, authorization string) *sip.Response {
	t.Helper()
	if contact == "" {
		contact = fmt.Sprintf("sip:%s@%s", user, c.local)
	}
	c.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:example.test SIP/2.0\r\n")
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", c.local, randHex(8))
	fmt.Fprintf(&b, "From: <sip:%s@example.test>;tag=%s\r\n", user, c.tag)
	fmt.Fprintf(&b, "To: <sip:%s@example.test>\r\n", user)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", c.callID)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", c.cseq)
	fmt.Fprintf(&b, "Contact: <%s>\r\n", contact)
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	fmt.Fprintf(&b, "Expires: 300\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	return c.roundTrip(t, b.String(), c.cseq)
}

// roundTrip sends msg (retransmitting like Timer A, at most 4 times) and
// returns the first final response whose CSeq number is cseq.
func (c *udpClient) roundTrip(t *testing.T, msg string, cseq int) *sip.Response {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	buf := make([]byte, 65535)
	retrans := 500 * time.Millisecond
	for sent := 0; sent < 5; sent++ {
		if _, err := c.conn.WriteToUDP([]byte(msg), c.remote); err != nil {
			t.Fatalf("send: %v", err)
		}
		wait := time.Now().Add(retrans)
		if wait.After(deadline) {
			wait = deadline
		}
		for {
			_ = c.conn.SetReadDeadline(wait)
			n, _, err := c.conn.ReadFromUDP(buf)
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				break
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			m, err := sip.ParseMessage(buf[:n])
			if err != nil {
				t.Fatalf("unparsable answer: %v\n%s", err, buf[:n])
			}
			res, ok := m.(*sip.Response)
			if !ok || res.StatusCode < 200 || res.CSeq() == nil || int(res.CSeq().SeqNo) != cseq {
				continue
			}
			return res
		}
		retrans *= 2
	}
	t.Fatalf("no final response to:\n%s", msg)
	return nil
}

// challenge returns the WWW-Authenticate challenge of res for algorithm
// (MD5 also matches a challenge without algorithm), or fails the test.
func challenge(t *testing.T, res *sip.Response, algorithm string) *digest.Challenge {
	t.Helper()
	var seen []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		seen = append(seen, h.Value())
		ch, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		alg := strings.ToUpper(ch.Algorithm)
		if alg == strings.ToUpper(algorithm) || (alg == "" && algorithm == "MD5") {
			return ch
		}
	}
	t.Fatalf("%d %s has no %s challenge (WWW-Authenticate: %q)", res.StatusCode, res.Reason, algorithm, seen)
	return nil
}

// authorize answers ch for a REGISTER to sip:example.test with nonce count nc.
func authorize(t *testing.T, ch *digest.Challenge, user, password string, nc int) string {
	t.Helper()
	cred, err := digest.Digest(ch, digest.Options{Method: "REGISTER", URI: "sip:example.test", Username: user, Password: password, Count: nc})
	if err != nil {
		t.Fatal(err)
	}
	return cred.String()
}

// registerDigest registers user (binding contact) with a full challenge
// round using algorithm, failing the test unless the answer is 200.
func registerDigest(t *testing.T, c *udpClient, user, password, algorithm, contact string) {
	t.Helper()
	res := c.register(t, user, contact, "")
	if res.StatusCode != 401 {
		t.Fatalf("REGISTER without credentials: got %d %s, want 401", res.StatusCode, res.Reason)
	}
	ch := challenge(t, res, algorithm)
	res = c.register(t, user, contact, authorize(t, ch, user, password, 1))
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER with %s credentials: got %d %s, want 200", algorithm, res.StatusCode, res.Reason)
	}
}

// sipResponse writes a response to req as a test UA does: Via copied,
// Record-Route copied (not in a 100), From, To (with toTag added unless it
// has one), Call-ID and CSeq copied; a Contact and an SDP body when given.
func sipResponse(req *sip.Request, code int, reason, toTag, contact, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.GetHeaders("Via") {
		fmt.Fprintf(&b, "Via: %s\r\n", v.Value())
	}
	if code > 100 {
		for _, rr := range req.GetHeaders("Record-Route") {
			fmt.Fprintf(&b, "Record-Route: %s\r\n", rr.Value())
		}
	}
	to := req.To().Value()
	if toTag != "" && !strings.Contains(to, "tag=") {
		to += ";tag=" + toTag
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.From().Value(), to, req.CallID().Value(), req.CSeq().Value())
	if contact != "" {
		fmt.Fprintf(&b, "Contact: <%s>\r\n", contact)
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}
