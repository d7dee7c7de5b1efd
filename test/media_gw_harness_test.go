package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/webrtcpeer"
	"github.com/sipedge/sipedge/test/wsua"
)

// The media gateway tests run the whole product: the sipedge binary with a
// WSS listener and a real rtpengine, the pion peer (a browser) behind a
// SIP-over-WebSocket UA, and rtpecho (a classic phone that echoes RTP) on
// UDP. All traffic stays on loopback: the browser and rtpengine on
// 127.0.0.1, rtpecho's signalling on 127.0.0.2 (trusted, so the phone is
// not challenged while the browser's INVITEs are, with 407).

const (
	mgwEchoNumber = "600"   // routed to rtpecho
	mgwUser       = "alice" // the browser's user
	mgwPassword   = "alice-pw"
	mgwEchoIP     = "127.0.0.2" // rtpecho's SIP address (trusted)
	mgwPackets    = 50          // 1 s of 20 ms packets per exchange
)

// mediaGW is one sipedge + rtpengine + rtpecho set for a test.
type mediaGW struct {
	rtpe   *rtpengineProc
	ng     *rtpengine.Client // our own ng client on the same daemon
	gw     *sipedgeProc
	echo   *rtpecho.UA
	pool   *x509.CertPool
	wssURL string
	gwUDP  string
}

// mgwOptions vary a mediaGW.
type mgwOptions struct {
	// Media is sipedge's media: section (e.g. dtmf: rfc4733).
	Media map[string]any
	// RTPEngine replaces the rtpengine: section; nil points sipedge at a
	// freshly started real rtpengine with timeout 1s.
	RTPEngine map[string]any
	// EchoMedia configures rtpecho's RTP endpoints.
	EchoMedia rtpecho.MediaConfig
	// EchoChallenge is rtpecho's Challenge (a provider demanding digest).
	EchoChallenge func(*sip.Request) *sip.Response
	// EchoChallengeReinvite is rtpecho's ChallengeReinvite.
	EchoChallengeReinvite func(*sip.Request) *sip.Response
	// Trunk, if set, makes rtpecho a trunk: it gets rtpecho's address as
	// its one URI and is written under trunks: as "carrier"; TrunkRoute
	// (a user regex) is routed to it.
	Trunk      map[string]any
	TrunkRoute string
	// Admin is sipedge's admin: section (listen, token); nil: none.
	Admin map[string]any
	// HEP is sipedge's hep: section; nil: none.
	HEP map[string]any
	// CDR is sipedge's cdr: section; nil: none.
	CDR map[string]any
}

// startMediaGW starts rtpengine (unless opts.RTPEngine says otherwise),
// rtpecho on 127.0.0.2 and sipedge with UDP and WSS listeners, user alice
// and a route from mgwEchoNumber to rtpecho.
func startMediaGW(t *testing.T, opts mgwOptions) *mediaGW {
	t.Helper()
	m := &mediaGW{}
	rtpSection := opts.RTPEngine
	if rtpSection == nil {
		m.rtpe = startRTPEngine(t)
		m.ng = newNGClient(t, m.rtpe)
		rtpSection = map[string]any{"nodes": []string{m.rtpe.NG}, "timeout": "1s"}
	}
	echo, err := rtpecho.Start(rtpecho.Config{Addr: mgwEchoIP + ":0", User: "echo", Media: opts.EchoMedia,
		Challenge: opts.EchoChallenge, ChallengeReinvite: opts.EchoChallengeReinvite})
	if err != nil {
		t.Fatalf("rtpecho: %v", err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	m.echo = echo
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	m.pool = pool
	routes := []proxyRoute{{User: "^" + mgwEchoNumber + "$", To: []string{"sip:" + echo.Addr() + ";transport=udp"}}}
	var extra map[string]any
	if opts.Trunk != nil {
		tr := map[string]any{"uris": []string{"sip:" + echo.Addr()}}
		for k, v := range opts.Trunk {
			tr[k] = v
		}
		extra = map[string]any{"trunks": map[string]any{"carrier": tr}}
		routes = append(routes, proxyRoute{User: opts.TrunkRoute, To: []string{"trunk:carrier"}})
	}
	m.gw = startSipedge(t, proxyConfig{
		Listen:     []string{"udp://127.0.0.1:0", "wss://127.0.0.1:0/ws"},
		Users:      map[string]string{mgwUser: mgwPassword},
		Trusted:    []string{mgwEchoIP + "/32"},
		Routes:     routes,
		TLSCert:    certFile,
		TLSKey:     keyFile,
		Algorithms: []string{"MD5"},
		RTPEngine:  rtpSection,
		Media:      opts.Media,
		Extra:      extra,
		Admin:      opts.Admin,
		HEP:        opts.HEP,
		CDR:        opts.CDR,
	})
	m.wssURL = "wss://" + m.gw.Addr(t, "wss") + "/ws"
	m.gwUDP = m.gw.Addr(t, "udp")
	return m
}

// browser is the pion peer with its SIP-over-WSS UA, registered as alice.
type browser struct {
	peer *webrtcpeer.Peer
	ua   *wsua.UA
}

// browserOptions vary a browser.
type browserOptions struct {
	// Peer configures the pion peer.
	Peer webrtcpeer.Config
	// Renegotiate answers re-INVITEs with the peer (a new pion answer to
	// rtpengine's re-offer); false re-sends the previous answer.
	Renegotiate bool
}

// newBrowser makes a peer and a WSS UA for alice that answers incoming
// calls with the peer (checking the offer is browser SDP first), and
// registers it with digest authentication.
func (m *mediaGW) newBrowser(ctx context.Context, t *testing.T, opts browserOptions) *browser {
	t.Helper()
	peer, err := webrtcpeer.NewPeer(opts.Peer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = peer.Close() })
	b := &browser{peer: peer}
	var reanswer func(string) (string, error)
	if opts.Renegotiate {
		reanswer = func(offer string) (string, error) {
			if err := browserSDPProblem(offer); err != nil {
				t.Errorf("re-offer toward the browser: %v\n%s", err, offer)
			}
			return peer.AcceptOffer(offer)
		}
	}
	ua, err := wsua.Dial(ctx, wsua.Config{
		URL: m.wssURL, TLS: &tls.Config{RootCAs: m.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		User: mgwUser, Domain: "example.test", Password: mgwPassword,
		Answer: func(offer string) (string, error) {
			if err := browserSDPProblem(offer); err != nil {
				t.Errorf("offer toward the browser: %v\n%s", err, offer)
			}
			return peer.AcceptOffer(offer)
		},
		Reanswer: reanswer,
		Log:      testLogger(t, "wsua"),
	})
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	b.ua = ua
	res, err := ua.Register(ctx, 300)
	if err != nil {
		t.Fatalf("browser REGISTER over WSS: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("browser REGISTER: %d %s", res.StatusCode, res.Reason)
	}
	return b
}

// browserCallsEcho has the browser call the echo number and apply the
// answer; it checks what each side got and returns both ends of the call.
func (m *mediaGW) browserCallsEcho(ctx context.Context, t *testing.T, b *browser) (*wsua.Call, *rtpecho.Call) {
	t.Helper()
	offer, err := b.peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	call, err := b.ua.Invite(ctx, "sip:"+mgwEchoNumber+"@example.test", offer)
	if err != nil {
		t.Fatalf("browser INVITE %s: %v", mgwEchoNumber, err)
	}
	ec, err := m.echo.WaitCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ec.CallID != call.CallID {
		t.Fatalf("rtpecho got call %s, the browser placed %s", ec.CallID, call.CallID)
	}
	if err := browserSDPProblem(call.RemoteSDP); err != nil {
		t.Errorf("200 OK toward the browser: %v\n%s", err, call.RemoteSDP)
	}
	if err := b.peer.SetAnswer(call.RemoteSDP); err != nil {
		t.Fatalf("browser refused the answer: %v\n%s", err, call.RemoteSDP)
	}
	if r := ec.Media.Remote(); r.Proto != "RTP/AVP" || !r.Addr.Addr().IsLoopback() {
		t.Errorf("offer toward rtpecho: proto %q addr %v, want plain RTP/AVP on loopback", r.Proto, r.Addr)
	}
	if err := ec.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	return call, ec
}

// echoCallsBrowser has rtpecho call alice through sipedge's UDP listener
// and returns both ends once the call is confirmed.
func (m *mediaGW) echoCallsBrowser(ctx context.Context, t *testing.T, b *browser) (*rtpecho.Call, *wsua.Call) {
	t.Helper()
	ec, err := m.echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP})
	if err != nil {
		t.Fatalf("rtpecho INVITE alice: %v", err)
	}
	wc, err := b.ua.WaitCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wc.CallID != ec.CallID {
		t.Fatalf("browser got call %s, rtpecho placed %s", wc.CallID, ec.CallID)
	}
	if err := wc.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	if r := ec.Media.Remote(); r.Proto != "RTP/AVP" || !r.Addr.Addr().IsLoopback() {
		t.Errorf("answer toward rtpecho: proto %q addr %v, want plain RTP/AVP on loopback", r.Proto, r.Addr)
	}
	return ec, wc
}

// browserSDPProblem says why sdp is not what a max-bundle browser needs
// from rtpengine, or nil.
func browserSDPProblem(sdp string) error {
	var problems []string
	m := sdpLines(sdp, "m=audio ")
	if len(m) != 1 || !strings.Contains(m[0], " UDP/TLS/RTP/SAVPF ") {
		problems = append(problems, fmt.Sprintf("m= line %q, want one UDP/TLS/RTP/SAVPF audio line", m))
	}
	for _, want := range []string{"a=candidate:", "a=ice-ufrag:", "a=fingerprint:", "a=setup:", "a=rtcp-mux", "a=mid:", "a=group:BUNDLE"} {
		if len(sdpLines(sdp, want)) == 0 {
			problems = append(problems, "no "+want)
		}
	}
	if err := webrtcpeer.CheckChromiumRules(sdp); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// mediaCounts is a snapshot of both ends' counters.
type mediaCounts struct {
	peer webrtcpeer.Stats
	echo rtpecho.MediaStats
}

func snapshot(peer *webrtcpeer.Peer, echo *rtpecho.Media) mediaCounts {
	return mediaCounts{peer: peer.Stats(), echo: echo.Stats()}
}

// echoExchange has the peer send n packets and rtpecho n/2 of its own
// stream at the same time; it checks, against the counts in before, that
// at least mediaMinPct percent of the peer's packets reached rtpecho and
// came back to the peer as its own decrypted payloads, and that rtpecho's
// own stream reached the peer.
func echoExchange(ctx context.Context, t *testing.T, what string, peer *webrtcpeer.Peer, echo *rtpecho.Media, n int) {
	t.Helper()
	if err := peer.WaitConnected(ctx); err != nil {
		t.Fatalf("%s: ICE+DTLS with rtpengine: %v", what, err)
	}
	before := snapshot(peer, echo)
	own := make(chan error, 1)
	go func() { own <- echo.Send(ctx, n/2) }()
	if err := peer.Send(ctx, n); err != nil {
		t.Fatalf("%s: peer send: %v", what, err)
	}
	if err := <-own; err != nil {
		t.Fatalf("%s: rtpecho send: %v", what, err)
	}
	want, wantOwn := n*mediaMinPct/100, n/2*mediaMinPct/100
	// The last packets are in flight: wait (bounded) until they are in.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		s := snapshot(peer, echo)
		if s.peer.Echoed-before.peer.Echoed >= n && s.peer.Foreign-before.peer.Foreign >= n/2 {
			break
		}
		pause(10 * time.Millisecond)
	}
	after := snapshot(peer, echo)
	d := func(a, b int) int { return a - b }
	sent := d(after.peer.PacketsSent, before.peer.PacketsSent)
	in := d(after.echo.PacketsIn, before.echo.PacketsIn)
	echoed := d(after.peer.Echoed, before.peer.Echoed)
	foreign := d(after.peer.Foreign, before.peer.Foreign)
	t.Logf("%s: peer sent %d, rtpecho got %d (payload type %d), peer got %d of its own back and %d of rtpecho's %d (payload type %d)",
		what, sent, in, after.echo.LastPayloadType, echoed, foreign, n/2, after.peer.PayloadType)
	if sent != n {
		t.Errorf("%s: peer sent %d packets, want %d", what, sent, n)
	}
	if in < want {
		t.Errorf("%s: rtpecho received %d plain RTP packets, want >= %d", what, in, want)
	}
	if echoed < want {
		t.Errorf("%s: peer got %d of its own payloads back (decrypted), want >= %d", what, echoed, want)
	}
	if foreign < wantOwn {
		t.Errorf("%s: peer got %d packets of rtpecho's own stream, want >= %d", what, foreign, wantOwn)
	}
	if after.echo.LastPayloadType != 0 || after.peer.PayloadType != 0 {
		t.Errorf("%s: payload types: rtpecho got %d, peer got %d, want PCMU 0 both", what, after.echo.LastPayloadType, after.peer.PayloadType)
	}
}

// expectSession fails unless rtpengine knows callID (query and list).
func (m *mediaGW) expectSession(ctx context.Context, t *testing.T, callID string) {
	t.Helper()
	if _, err := m.ng.Query(ctx, rtpengine.CallRef{CallID: callID}); err != nil {
		t.Errorf("rtpengine query %s during the call: %v", callID, err)
	}
	calls, err := m.ng.List(ctx, "", 1000)
	if err != nil {
		t.Fatalf("rtpengine list: %v", err)
	}
	if !slices.Contains(calls, callID) {
		t.Errorf("rtpengine list during the call lacks %s: %v", callID, calls)
	}
}

// waitSessionGone waits (at most 3 s) until rtpengine no longer knows
// callID: query answers an error and list lacks it. sipedge deletes in the
// background after relaying the BYE, so this polls.
func (m *mediaGW) waitSessionGone(ctx context.Context, t *testing.T, callID string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	start := time.Now()
	for {
		_, qerr := m.ng.Query(ctx, rtpengine.CallRef{CallID: callID})
		calls, lerr := m.ng.List(ctx, "", 1000)
		if lerr != nil {
			t.Fatalf("rtpengine list: %v", lerr)
		}
		if errors.Is(qerr, rtpengine.ErrRejected) && !slices.Contains(calls, callID) {
			t.Logf("rtpengine session %s gone %v after the end of the call", callID, time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rtpengine still has %s 3s after the call ended: query err %v, list %v", callID, qerr, calls)
		}
		pause(20 * time.Millisecond)
	}
}

// testLogger writes a component's debug log to the test log.
func testLogger(t *testing.T, component string) *slog.Logger {
	return slog.New(slog.NewTextHandler(tLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", component)
}

type tLogWriter struct{ t *testing.T }

func (w tLogWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
