package test

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// streamUAC is a SIP UAC on one TCP or TLS connection, reading whole
// messages off the stream.
type streamUAC struct {
	conn      net.Conn
	r         *bufio.Reader
	local     string
	transport string // TCP or TLS, for Via and Contact
}

// dialTLSUAC connects a streamUAC over TLS from 127.0.0.2 to addr.
func dialTLSUAC(t *testing.T, addr string, cc *tls.Config) *streamUAC {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(edgePhoneIP)}}, "tcp", addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &streamUAC{conn: c, r: bufio.NewReader(c), local: c.LocalAddr().String(), transport: "TLS"}
}

// dialTCPUAC connects a streamUAC over TCP from localIP to addr.
func dialTCPUAC(t *testing.T, localIP, addr string) *streamUAC {
	t.Helper()
	c, err := (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &streamUAC{conn: c, r: bufio.NewReader(c), local: c.LocalAddr().String(), transport: "TCP"}
}

// sentInvite is what the UAC keeps of its INVITE.
type sentInvite struct {
	callID, tag, ruri string
}

func (u *streamUAC) send(t *testing.T, msg string) {
	t.Helper()
	_ = u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// invite sends an INVITE for number (with an SDP offer).
func (u *streamUAC) invite(number string) sentInvite {
	inv := sentInvite{callID: randHex(8), tag: randHex(4), ruri: "sip:" + number + "@example.test"}
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
	msg := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:carrier@carrier.example>;tag=%s\r\nTo: <sip:%s@example.test>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:carrier@%s;transport=%s>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		inv.ruri, u.transport, u.local, randHex(8), inv.tag, number, inv.callID, u.local, strings.ToLower(u.transport), len(sdp), sdp)
	_ = u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = u.conn.Write([]byte(msg)) // a failed write shows as no response
	return inv
}

// next reads the next message off the connection, or fails the test.
func (u *streamUAC) next(t *testing.T, within time.Duration) sip.Message {
	t.Helper()
	m, err := u.read(within)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// read reads the next message off the connection.
func (u *streamUAC) read(within time.Duration) (sip.Message, error) {
	_ = u.conn.SetReadDeadline(time.Now().Add(within))
	tp := textproto.NewReader(u.r)
	var head strings.Builder
	length := 0
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return nil, fmt.Errorf("read: %w after %q", err, head.String())
		}
		if line == "" {
			if head.Len() == 0 {
				continue // a keepalive CRLF
			}
			break
		}
		head.WriteString(line + "\r\n")
		if k, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(k, "Content-Length") || k == "l") {
			length, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(u.r, body); err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	m, err := sip.ParseMessage([]byte(head.String() + "\r\n" + string(body)))
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", head.String(), err)
	}
	return m, nil
}

// options sends an OPTIONS to sipedge itself (host) and reports whether a
// final response came within the given time.
func (u *streamUAC) options(host string, cseq int, within time.Duration) bool {
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s\r\nFrom: <sip:carrier@carrier.example>;tag=o%d\r\n"+
		"To: <sip:%s>\r\nCall-ID: opt-%s\r\nCSeq: %d OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		host, u.transport, u.local, randHex(8), cseq, host, randHex(6), cseq)
	_ = u.conn.SetWriteDeadline(time.Now().Add(within))
	if _, err := u.conn.Write([]byte(msg)); err != nil {
		return false
	}
	for range 5 {
		m, err := u.read(within)
		if err != nil {
			return false
		}
		if res, ok := m.(*sip.Response); ok && !res.IsProvisional() {
			return true
		}
	}
	return false
}

// final returns the next final response.
func (u *streamUAC) final(t *testing.T, within time.Duration) *sip.Response {
	t.Helper()
	for range 10 {
		if res, ok := u.next(t, within).(*sip.Response); ok && !res.IsProvisional() {
			return res
		}
	}
	t.Fatal("no final response among 10 messages")
	return nil
}

// ackNon2xx acknowledges a failure response in its INVITE transaction.
func (u *streamUAC) ackNon2xx(inv sentInvite, res *sip.Response) {
	msg := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		inv.ruri, res.Via().Value(), res.From().Value(), res.To().Value(), inv.callID)
	_ = u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = u.conn.Write([]byte(msg))
}

// inDialog sends method (ACK for the 2xx, BYE) in the dialog the 2xx res
// set up: to its Contact, along its Record-Route reversed (RFC 3261
// §12.1.2), in a new transaction.
func (u *streamUAC) inDialog(t *testing.T, res *sip.Response, method string, cseq int) {
	t.Helper()
	contact := res.Contact()
	if contact == nil {
		t.Fatal("2xx without Contact")
	}
	var routes []string
	for _, rr := range res.GetHeaders("Record-Route") {
		routes = append(routes, rr.Value())
	}
	slices.Reverse(routes)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s\r\n", method, contact.Address.String(), u.transport, u.local, randHex(8))
	for _, r := range routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.From().Value(), res.To().Value(), res.CallID().Value(), cseq, method)
	u.send(t, b.String())
}
