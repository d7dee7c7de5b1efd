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

	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestTLSTrunkByCertificate has a trunk identified by its client
// certificate (tls_names: a DNS name and a URI SAN) and by no address: its
// URI is an address nothing sends from. A Go UAC on 127.0.0.2 calls the
// trunk's DID +15550100 over TLS: with a certificate from client_ca naming
// carrier.example (or only the URI SAN sip:carrier.example) the call is
// the trunk's: no challenge, the DID maps to alice (a Go WebSocket client
// registered with digest), who rings, answers and hangs up. A certificate
// from the same CA naming another host, or no certificate, is no trunk: the
// INVITE is challenged (407) and alice sees nothing.
func TestTLSTrunkByCertificate(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA")
	srv := serverCA.Issue(t, dir, "server", "sipedge", false, "127.0.0.1")
	cfg := proxyConfig{
		Listen:     []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0", "ws://127.0.0.1:0/ws"},
		Users:      map[string]string{"alice": "alice-secret"},
		Algorithms: []string{"MD5"},
		TLS: map[string]any{"cert": srv.CertFile, "key": srv.KeyFile, "client_auth": "request",
			"client_ca": clientCA.WriteCA(t, dir, "client-ca")},
		Extra: map[string]any{"trunks": map[string]any{"carrier": map[string]any{
			"uris":      []string{"sip:127.0.0.9:5061;transport=tls"},
			"tls_names": []string{"carrier.example", "sip:carrier.example"},
			"dids":      map[string]string{"+15550100": "alice"},
		}}},
	}
	gw := startSipedge(t, cfg)
	alice := newWSUA(t, "ws://"+gw.Addr(t, "ws")+"/ws", "alice", "alice-secret", wsDialOpts{LocalIP: wsBrowserIP})
	if res := alice.Register(); res.StatusCode != 200 {
		t.Fatalf("alice REGISTER: %d", res.StatusCode)
	}
	for _, tt := range []struct {
		name  string
		names []string // SANs of the UAC's certificate; nil: none presented
		trunk bool     // the call is the trunk's (else 407)
	}{
		{"DNS SAN of the trunk", []string{"carrier.example"}, true},
		{"URI SAN of the trunk", []string{"sip:carrier.example"}, true},
		{"other name, same CA", []string{"phone.example.com"}, false},
		{"no certificate", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cc := &tls.Config{RootCAs: serverCA.Pool, ServerName: "127.0.0.1"}
			if tt.names != nil {
				leaf := clientCA.Issue(t, t.TempDir(), "uac", "uac", false, tt.names...)
				pair, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
				if err != nil {
					t.Fatal(err)
				}
				cc.Certificates = []tls.Certificate{pair}
			}
			uac := dialTLSUAC(t, gw.Addr(t, "tls"), cc)
			inv := uac.invite("+15550100")
			if !tt.trunk {
				res := uac.final(t, 5*time.Second)
				if res.StatusCode != 407 && res.StatusCode != 401 {
					t.Fatalf("INVITE with %v: %d %s, want a challenge", tt.names, res.StatusCode, res.Reason)
				}
				uac.ackNon2xx(inv, res)
				select {
				case r := <-alice.reqs:
					t.Fatalf("alice got %s %s: the call was routed", r.Method, r.Recipient.String())
				case <-time.After(300 * time.Millisecond):
				}
				return
			}
			d := alice.answer200(5 * time.Second)
			if got := d.invite.Recipient.User; got != "alice" {
				t.Errorf("alice's INVITE is for %q, want the DID mapped to alice", got)
			}
			res := uac.final(t, 5*time.Second)
			if res.StatusCode != 200 {
				t.Fatalf("INVITE: %d %s, want 200", res.StatusCode, res.Reason)
			}
			uac.inDialog(t, res, "ACK", 1)
			d.waitAck(5 * time.Second)
			uac.inDialog(t, res, "BYE", 2)
			d.WaitBye()
			if res := uac.final(t, 5*time.Second); res.StatusCode != 200 || res.CSeq().MethodName != sip.BYE {
				t.Fatalf("BYE: %d %s %s, want 200 BYE", res.StatusCode, res.Reason, res.CSeq().Value())
			}
		})
	}
}

// tlsUAC is a SIP UAC on one TLS connection from 127.0.0.2, reading
// whole messages off the stream.
type tlsUAC struct {
	conn  *tls.Conn
	r     *bufio.Reader
	local string
}

func dialTLSUAC(t *testing.T, addr string, cc *tls.Config) *tlsUAC {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(edgePhoneIP)}}, "tcp", addr, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &tlsUAC{conn: c, r: bufio.NewReader(c), local: c.LocalAddr().String()}
}

// sentInvite is what the UAC keeps of its INVITE.
type sentInvite struct {
	callID, tag, ruri string
}

func (u *tlsUAC) send(t *testing.T, msg string) {
	t.Helper()
	_ = u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := u.conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// invite sends an INVITE for number (with an SDP offer).
func (u *tlsUAC) invite(number string) sentInvite {
	inv := sentInvite{callID: randHex(8), tag: randHex(4), ruri: "sip:" + number + "@example.test"}
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
	msg := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK%s\r\n"+
		"From: <sip:carrier@carrier.example>;tag=%s\r\nTo: <sip:%s@example.test>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:carrier@%s;transport=tls>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		inv.ruri, u.local, randHex(8), inv.tag, number, inv.callID, u.local, len(sdp), sdp)
	_ = u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = u.conn.Write([]byte(msg)) // a failed write shows as no response
	return inv
}

// next reads the next message off the connection.
func (u *tlsUAC) next(t *testing.T, within time.Duration) sip.Message {
	t.Helper()
	_ = u.conn.SetReadDeadline(time.Now().Add(within))
	tp := textproto.NewReader(u.r)
	var head strings.Builder
	length := 0
	for {
		line, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("read: %v after %q", err, head.String())
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
		t.Fatalf("read body: %v", err)
	}
	m, err := sip.ParseMessage([]byte(head.String() + "\r\n" + string(body)))
	if err != nil {
		t.Fatalf("parse %q: %v", head.String(), err)
	}
	return m
}

// final returns the next final response.
func (u *tlsUAC) final(t *testing.T, within time.Duration) *sip.Response {
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
func (u *tlsUAC) ackNon2xx(inv sentInvite, res *sip.Response) {
	msg := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		inv.ruri, res.Via().Value(), res.From().Value(), res.To().Value(), inv.callID)
	_ = u.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = u.conn.Write([]byte(msg))
}

// inDialog sends method (ACK for the 2xx, BYE) in the dialog the 2xx res
// set up: to its Contact, along its Record-Route reversed (RFC 3261
// §12.1.2), in a new transaction.
func (u *tlsUAC) inDialog(t *testing.T, res *sip.Response, method string, cseq int) {
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
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK%s\r\n", method, contact.Address.String(), u.local, randHex(8))
	for _, r := range routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		res.From().Value(), res.To().Value(), res.CallID().Value(), cseq, method)
	u.send(t, b.String())
}
