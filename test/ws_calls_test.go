package test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// wsBrowserIP is the source address WebSocket clients dial from: not in
// trusted (127.0.0.1/32), so their INVITEs are challenged with 407 like a
// browser's, while SIPp on 127.0.0.1 is trusted.
const wsBrowserIP = "127.0.0.2"

// wsEdge is a sipedge with UDP, WS and WSS listeners, alice and bob as
// users, trusting 127.0.0.1 (SIPp), and two routes to SIPp UAS ports:
// 15551234 → hangup (the UAS waits for our BYE), 15559999 → byePort (the
// UAS hangs up).
type wsEdge struct {
	gw       *sipedgeProc
	pool     *x509.CertPool
	certFile string // PEM of the self-signed certificate (the CA to trust)
	uasPort  int
	byePort  int
	wsURL    string
	wssURL   string
	gwUDP    string
	callUser string
	byeUser  string
}

func startWSEdge(t *testing.T, mod func(*proxyConfig)) *wsEdge {
	t.Helper()
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	e := &wsEdge{pool: pool, certFile: certFile, uasPort: loopback.FreePort(t), byePort: loopback.FreePort(t), callUser: "15551234", byeUser: "15559999"}
	cfg := proxyConfig{
		Listen:  []string{"udp://127.0.0.1:0", "ws://127.0.0.1:0/ws", "wss://127.0.0.1:0/ws"},
		Users:   map[string]string{"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"},
		Trusted: []string{"127.0.0.1/32"},
		Routes: []proxyRoute{
			{User: "^" + e.byeUser + "$", To: []string{sipURI(e.byePort, "udp")}},
			{To: []string{sipURI(e.uasPort, "udp")}},
		},
		TLSCert: certFile, TLSKey: keyFile,
		// Only MD5: the browser-like clients answer MD5 (JsSIP knows no other).
		Algorithms: []string{"MD5"},
	}
	if mod != nil {
		mod(&cfg)
	}
	e.gw = startSipedge(t, cfg)
	e.wsURL = "ws://" + e.gw.Addr(t, "ws") + "/ws"
	e.wssURL = "wss://" + e.gw.Addr(t, "wss") + "/ws"
	e.gwUDP = e.gw.Addr(t, "udp")
	return e
}

// url returns the WebSocket URL for "ws" or "wss".
func (e *wsEdge) url(transport string) string {
	if transport == "wss" {
		return e.wssURL
	}
	return e.wsURL
}

// pause lets a call last a moment, as SIPp's -d does: an ACK and a BYE
// sent in the same instant may overtake each other in a parallel proxy.
func pause(d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	<-timer.C
}

// TestWSGoClient has a Go WebSocket client register over WS (alice) and
// WSS (bob) with digest auth, call SIPp UASes through sipedge over UDP
// (BYE from the client, and from SIPp), and receive calls placed by a SIPp
// UAC (BYE from SIPp, and from the client).
func TestWSGoClient(t *testing.T) {
	e := startWSEdge(t, nil)
	for _, tc := range []struct{ transport, user, password string }{
		{"ws", "alice", "alice-secret"},
		{"wss", "bob", "bob-secret"},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			ua := newWSUA(t, e.url(tc.transport), tc.user, tc.password, wsDialOpts{Pool: e.pool, LocalIP: wsBrowserIP})
			res := ua.Register()
			if n := len(res.GetHeaders("Contact")); n == 0 {
				t.Fatalf("200 for REGISTER lists no Contact")
			}
			t.Run("outgoing, client hangs up", func(t *testing.T) {
				uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Port: e.uasPort})
				d := ua.Call("sip:" + e.callUser + "@example.test")
				if !d.challenged {
					t.Errorf("INVITE from an untrusted WebSocket client was not challenged (407)")
				}
				pause(100 * time.Millisecond)
				d.Bye()
				uas.expectAllSuccessful(t, 1)
			})
			t.Run("outgoing, SIPp hangs up", func(t *testing.T) {
				uas := startSIPp(t, sippRun{Name: "uas_bye", Scenario: "uas_call_bye.xml", Port: e.byePort})
				d := ua.Call("sip:" + e.byeUser + "@example.test")
				d.WaitBye()
				uas.expectAllSuccessful(t, 1)
			})
			t.Run("incoming, SIPp hangs up", func(t *testing.T) {
				uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: e.gwUDP, Service: tc.user})
				d := ua.Answer(10 * time.Second)
				d.WaitBye()
				uac.expectAllSuccessful(t, 1)
			})
			t.Run("incoming, client hangs up", func(t *testing.T) {
				uac := startSIPp(t, sippRun{Name: "uac_bye_in", Scenario: "uac_call_aor_bye_in.xml", Remote: e.gwUDP, Service: tc.user})
				d := ua.Answer(10 * time.Second)
				pause(100 * time.Millisecond)
				d.Bye()
				uac.expectAllSuccessful(t, 1)
			})
		})
	}
}
