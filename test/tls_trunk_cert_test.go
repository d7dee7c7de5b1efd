package test

import (
	"bufio"
	"crypto/tls"
	"net"
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

// TestTLSTrunkCertificateNotRateBanned: a verified client certificate
// counts as authenticated for the rate bans, as a digest does (ban
// vouch_time): with ban.max_requests 10, a trunk's TLS connection sends 40
// OPTIONS at once and every one is answered, while a connection from
// another address with a certificate of the same CA naming no trunk is
// banned within the 40 (an answer missing for 1 s).
func TestTLSTrunkCertificateNotRateBanned(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := tlstest.NewCA(t, "server CA"), tlstest.NewCA(t, "client CA")
	srv := serverCA.Issue(t, dir, "server", "sipedge", false, "127.0.0.1")
	gw := startSipedge(t, proxyConfig{
		Listen: []string{"udp://127.0.0.1:0", "tls://127.0.0.1:0"},
		Users:  map[string]string{"alice": "alice-secret"},
		TLS: map[string]any{"cert": srv.CertFile, "key": srv.KeyFile, "client_auth": "request",
			"client_ca": clientCA.WriteCA(t, dir, "client-ca")},
		Ban: map[string]any{"max_requests": 10, "window": "2s"},
		Extra: map[string]any{"trunks": map[string]any{"carrier": map[string]any{
			"uris": []string{"sip:127.0.0.9:5061;transport=tls"}, "tls_names": []string{"carrier.example"},
		}}},
	})
	for _, tt := range []struct {
		name, ip, san string
		banned        bool
	}{
		{"trunk certificate", edgePhoneIP, "carrier.example", false},
		{"other name", "127.0.0.4", "phone.example.com", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			leaf := clientCA.Issue(t, t.TempDir(), "uac", "uac", false, tt.san)
			pair, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(tt.ip)}}, "tcp", gw.Addr(t, "tls"),
				&tls.Config{RootCAs: serverCA.Pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{pair}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			uac := &streamUAC{conn: c, r: bufio.NewReader(c), local: c.LocalAddr().String(), transport: "TLS"}
			answered := 0
			for i := range 40 {
				if !uac.options("127.0.0.1", i+1, time.Second) {
					break
				}
				answered++
			}
			switch {
			case tt.banned && answered == 40:
				t.Fatalf("all 40 OPTIONS answered: the rate limit of 10 did not ban")
			case !tt.banned && answered < 40:
				t.Fatalf("%d of 40 OPTIONS answered: the trunk's connection was banned", answered)
			}
			t.Logf("%d of 40 OPTIONS answered", answered)
		})
	}
}
