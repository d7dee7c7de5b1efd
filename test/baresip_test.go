package test

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/baresip"
	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/test/webrtcpeer"
	"github.com/sipedge/sipedge/test/wsua"
)

// TestBaresip: Debian's baresip, a classic soft-phone nobody here wrote,
// registers with digest over UDP, TCP and TLS, calls the browser (the pion
// peer over WSS, ICE + DTLS-SRTP through rtpengine) and is called by it,
// with audio both ways: the browser counts baresip's tone packets, baresip
// records what it decoded from the browser. baresip hangs up the first
// call, the browser the second; rtpengine forgets both.
//
// The auth section is left to its defaults (MD5 alone): Debian's baresip
// 1.0.0 on libre 1.1.0 answers a 401 only when every challenge in it is
// MD5 and no two share a realm (libre's sip/auth.c auth_handler returns
// ENOSYS for any other algorithm, EAUTH for a second challenge of a known
// realm), so MD5 and SHA-256 offered together fail in either order
// ("Register: Function not implemented").
func TestBaresip(t *testing.T) {
	const password = "baresip-pw"
	if _, err := baresip.Installed(); err != nil {
		t.Fatal(err)
	}
	rtpe := startRTPEngine(t)
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	users := map[string]string{mgwUser: mgwPassword}
	transports := []string{"udp", "tcp", "tls"}
	for _, tr := range transports {
		users["baresip-"+tr] = password
	}
	gw := startSipedge(t, proxyConfig{
		Listen:    []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0", "tls://127.0.0.1:0", "wss://127.0.0.1:0/ws"},
		Users:     users,
		TLSCert:   certFile,
		TLSKey:    keyFile,
		RTPEngine: map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
	})
	m := &mediaGW{rtpe: rtpe, ng: newNGClient(t, rtpe), gw: gw, pool: pool, wssURL: "wss://" + gw.Addr(t, "wss") + "/ws"}
	tone := filepath.Join(t.TempDir(), "tone.wav")
	// Longer than any call: at the end of its file aufile ends the call.
	if err := baresip.WriteTone(tone, 440, 60); err != nil {
		t.Fatal(err)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			ctx := withTimeout(t, 60*time.Second)
			acct := baresip.Account{User: "baresip-" + tr, Domain: "example.test", Password: password, Transport: tr, Proxy: gw.Addr(t, tr)}
			phone := startBaresip(ctx, t, tone, certFile)
			ev, err := phone.Register(ctx, acct)
			if err != nil {
				t.Fatalf("baresip over %s: %v", tr, err)
			}
			t.Logf("baresip over %s: %s %s", tr, ev.Type, ev.Param)
			if !strings.HasPrefix(ev.Param, "200") {
				t.Errorf("baresip REGISTER_OK says %q, want a 200", ev.Param)
			}
			expectDigest(ctx, t, phone, "REGISTER", "example.test", tr, acct.User)
			expectRegistered(t, gw, acct.AOR(), tr)

			t.Run("baresip calls the browser", func(t *testing.T) {
				b := m.newBrowser(ctx, t, browserOptions{})
				before := recordings(t, phone)
				if err := phone.Dial(ctx, "sip:"+mgwUser+"@example.test"); err != nil {
					t.Fatal(err)
				}
				wc, err := b.ua.WaitCall(ctx)
				if err != nil {
					t.Fatalf("browser: no call from baresip: %v", err)
				}
				if err := wc.WaitAck(ctx); err != nil {
					t.Fatal(err)
				}
				waitEstablished(ctx, t, phone, wc.CallID, "outgoing")
				expectDigest(ctx, t, phone, "INVITE", mgwUser+"@example.test", tr, acct.User)
				sent := baresipExchange(ctx, t, b.peer)
				m.expectSession(ctx, t, wc.CallID)
				if err := phone.Hangup(ctx); err != nil {
					t.Fatal(err)
				}
				if reason, err := wc.WaitEnded(ctx); err != nil || reason != wsua.EndByeReceived {
					t.Fatalf("browser after baresip's hangup: reason %q, err %v; want %q", reason, err, wsua.EndByeReceived)
				}
				waitClosed(ctx, t, phone, wc.CallID)
				m.waitSessionGone(ctx, t, wc.CallID)
				expectDecoded(ctx, t, phone, before, sent)
			})

			t.Run("the browser calls baresip", func(t *testing.T) {
				b := m.newBrowser(ctx, t, browserOptions{})
				before := recordings(t, phone)
				offer, err := b.peer.CreateOffer()
				if err != nil {
					t.Fatal(err)
				}
				call, err := b.ua.Invite(ctx, acct.AOR(), offer)
				if err != nil {
					t.Fatalf("browser INVITE %s: %v", acct.AOR(), err)
				}
				if call.Invite.GetHeader("Proxy-Authorization") == nil {
					t.Errorf("the browser's INVITE was not challenged (407)")
				}
				if err := browserSDPProblem(call.RemoteSDP); err != nil {
					t.Errorf("200 OK toward the browser: %v\n%s", err, call.RemoteSDP)
				}
				if err := b.peer.SetAnswer(call.RemoteSDP); err != nil {
					t.Fatalf("browser refused the answer: %v\n%s", err, call.RemoteSDP)
				}
				waitEstablished(ctx, t, phone, call.CallID, "incoming")
				sent := baresipExchange(ctx, t, b.peer)
				m.expectSession(ctx, t, call.CallID)
				if err := call.Bye(ctx); err != nil {
					t.Fatalf("browser BYE: %v", err)
				}
				waitClosed(ctx, t, phone, call.CallID)
				m.waitSessionGone(ctx, t, call.CallID)
				expectDecoded(ctx, t, phone, before, sent)
			})
			expectPlainLoopbackSDP(t, phone.Output())
		})
	}
}

// baresipPackets is how many packets the browser sends per call (2 s).
const baresipPackets = 100

// startBaresip starts baresip in a fresh directory on loopback, with its
// SIP trace on; it is stopped when the test ends and its output is logged
// if the test failed. A missing baresip fails the test.
func startBaresip(ctx context.Context, t *testing.T, tone, caFile string) *baresip.Phone {
	t.Helper()
	base := 10000 + rand.IntN(100)*100 // a private 100-port block in 10000..19999, below rtpengine's
	phone, err := baresip.Start(ctx, baresip.Config{
		Dir: t.TempDir(), Tone: tone, CAFile: caFile,
		CtrlPort: loopback.FreePort(t), RTPPorts: [2]int{base, base + 99},
		SIPTrace: true,
	})
	if err != nil {
		t.Fatalf("start baresip: %v", err)
	}
	t.Cleanup(func() {
		if err := phone.Close(); err != nil {
			t.Errorf("baresip: %v", err)
		}
		if t.Failed() {
			t.Logf("baresip output:\n%s", phone.Output())
		}
	})
	return phone
}

// expectDigest checks baresip's SIP trace: its method request to uri
// (user@host) over transport was challenged (401 for REGISTER, 407
// otherwise) and sent again with MD5 digest credentials of user (baresip
// names no algorithm: MD5 is the default).
func expectDigest(ctx context.Context, t *testing.T, phone *baresip.Phone, method, uri, transport, user string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	tr := strings.ToUpper(transport)
	code, header := "407 Proxy Authentication Required", "Proxy-Authorization"
	if method == "REGISTER" {
		code, header = "401 Unauthorized", "Authorization"
	}
	if _, err := phone.WaitOutput(ctx, regexp.MustCompile(`\nSIP/2\.0 `+code+`\r?\nVia: SIP/2\.0/`+tr+` [^#]*?CSeq: \d+ `+method)); err != nil {
		t.Errorf("baresip's trace shows no %s for its %s over %s: %v", code, method, tr, err)
	}
	re := regexp.MustCompile(`(?s)` + method + ` sip:` + regexp.QuoteMeta(uri) + `;transport=` + transport + ` SIP/2\.0\r?\nVia: SIP/2\.0/` + tr + ` [^#]*?\n` + header + `: Digest ([^\r\n]*)`)
	m, err := phone.WaitOutput(ctx, re)
	if err != nil {
		t.Errorf("baresip's trace shows no %s over %s with %s: %v", method, tr, header, err)
		return
	}
	if auth := m[1]; !strings.Contains(auth, `username="`+user+`"`) || (strings.Contains(auth, "algorithm=") && !strings.Contains(auth, "algorithm=MD5")) {
		t.Errorf("baresip's %s over %s: %s: Digest %s; want MD5 credentials of %s", method, tr, header, auth, user)
	}
}

// expectRegistered checks sipedge's side: its registrar bound aor (a SIP
// URI) over transport.
func expectRegistered(t *testing.T, gw *sipedgeProc, aor, transport string) {
	t.Helper()
	re := regexp.MustCompile(`msg=register .*aor=(?:sip:)?` + regexp.QuoteMeta(strings.TrimPrefix(aor, "sip:")) + ` .*transport=(?i:` + transport + `) .*bindings=1`)
	// The log line may still be in the pipe from sipedge when baresip
	// reports its 200: wait for it, bounded.
	deadline := time.Now().Add(3 * time.Second)
	for !re.MatchString(gw.Log()) {
		if time.Now().After(deadline) {
			t.Errorf("sipedge's log has no registration of %s over %s", aor, transport)
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the collected log, bounded by deadline
	}
}

// expectPlainLoopbackSDP checks every SDP in baresip's SIP trace (what it
// offered and answered, and what rtpengine gave it): audio over plain
// RTP/AVP, no ICE or DTLS attributes, and only loopback addresses.
func expectPlainLoopbackSDP(t *testing.T, trace string) {
	t.Helper()
	trace = strings.ReplaceAll(trace, "\r", "")
	mLines := regexp.MustCompile(`(?m)^m=audio \d+ (\S+) `).FindAllStringSubmatch(trace, -1)
	if len(mLines) < 4 {
		t.Errorf("baresip's trace has %d SDP audio lines, want at least 4 (two calls, offer and answer each)", len(mLines))
	}
	for _, m := range mLines {
		if m[1] != "RTP/AVP" {
			t.Errorf("baresip saw or sent m=audio with %s, want plain RTP/AVP", m[1])
		}
	}
	for _, attr := range []string{"a=candidate:", "a=fingerprint:", "a=ice-ufrag:", "a=crypto:"} {
		if strings.Contains(trace, "\n"+attr) {
			t.Errorf("baresip's trace has %s: rtpengine must give baresip plain RTP", attr)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^(?:c=IN IP4|o=\S+ \S+ \S+ IN IP4) (\S+)`).FindAllStringSubmatch(trace, -1) {
		if ip, err := netip.ParseAddr(m[1]); err != nil || !ip.IsLoopback() {
			t.Errorf("baresip's SDP names %s, want loopback only: %q", m[1], m[0])
		}
	}
}

// waitEstablished waits for baresip's CALL_ESTABLISHED for callID in the
// given direction.
func waitEstablished(ctx context.Context, t *testing.T, phone *baresip.Phone, callID, direction string) {
	t.Helper()
	ev, err := phone.WaitEvent(ctx, baresip.EventEstablished, baresip.EventClosed)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != baresip.EventEstablished || ev.ID != callID || ev.Direction != direction {
		t.Fatalf("baresip: %s %s call %s (%s), want %s %s call %s", ev.Type, ev.Direction, ev.ID, ev.Param, baresip.EventEstablished, direction, callID)
	}
}

// waitClosed waits for baresip's CALL_CLOSED for callID.
func waitClosed(ctx context.Context, t *testing.T, phone *baresip.Phone, callID string) {
	t.Helper()
	ev, err := phone.WaitEvent(ctx, baresip.EventClosed)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != callID {
		t.Fatalf("baresip closed call %s (%s), want %s", ev.ID, ev.Param, callID)
	}
	t.Logf("baresip: call closed (%s)", ev.Param)
}

// baresipExchange waits for ICE + DTLS, has the browser send
// baresipPackets packets while baresip plays its tone, and checks that
// the browser got at least mediaMinPct percent as many of baresip's
// packets (PCMU) in that time. It returns how many the browser sent.
func baresipExchange(ctx context.Context, t *testing.T, peer *webrtcpeer.Peer) int {
	t.Helper()
	if err := peer.WaitConnected(ctx); err != nil {
		t.Fatalf("ICE+DTLS with rtpengine: %v", err)
	}
	before := peer.Stats()
	if err := peer.Send(ctx, baresipPackets); err != nil {
		t.Fatalf("browser send: %v", err)
	}
	after := peer.Stats()
	sent := after.PacketsSent - before.PacketsSent
	got := after.Foreign - before.Foreign
	t.Logf("browser sent %d packets; in the same %v it got %d of baresip's (payload type %d), %d in all",
		sent, time.Duration(baresipPackets)*webrtcpeer.PacketInterval, got, after.PayloadType, after.Foreign)
	if want := baresipPackets * mediaMinPct / 100; got < want {
		t.Errorf("browser got %d packets from baresip while sending %d, want >= %d", got, sent, want)
	}
	if after.Echoed != 0 {
		t.Errorf("browser got %d of its own packets back: baresip does not echo", after.Echoed)
	}
	if after.PayloadType != 0 {
		t.Errorf("browser got payload type %d from baresip, want PCMU 0", after.PayloadType)
	}
	return sent
}

// recordings lists baresip's recordings of what it decoded.
func recordings(t *testing.T, phone *baresip.Phone) []string {
	t.Helper()
	paths, err := phone.Recordings("dec")
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// expectDecoded finds the recording of the call that just ended (the one
// not in before), waits until baresip closed it, and checks that at least
// mediaMinPct percent of the browser's sent packets were decoded into
// frames with sound (the browser's payloads decode as loud PCMU; nothing
// else reaches baresip).
func expectDecoded(ctx context.Context, t *testing.T, phone *baresip.Phone, before []string, sent int) {
	t.Helper()
	var path string
	var rec baresip.Recording
	var lastErr error
	deadline := time.Now().Add(3 * time.Second)
	for {
		for _, p := range recordings(t, phone) {
			if !slices.Contains(before, p) {
				path = p
			}
		}
		if path != "" {
			rec, lastErr = baresip.ReadWAV(path)
			if lastErr == nil && rec.Complete {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete recording of the call in baresip's directory 3s after it ended (file %q, err %v)", path, lastErr)
		}
		pause(20 * time.Millisecond)
	}
	loud := rec.LoudFrames(1000)
	t.Logf("baresip decoded %d frames (%d Hz, %d ch), %d with sound, of the browser's %d packets (%s)",
		rec.Frames(), rec.Rate, rec.Channels, loud, sent, filepath.Base(path))
	if rec.Rate != baresip.SampleRate || rec.Channels != 1 {
		t.Errorf("recording is %d Hz %d ch, want %d Hz mono (PCMU)", rec.Rate, rec.Channels, baresip.SampleRate)
	}
	if want := sent * mediaMinPct / 100; loud < want {
		t.Errorf("baresip decoded %d frames with sound, want >= %d of the browser's %d packets", loud, want, sent)
	}
	if loud > sent {
		t.Errorf("baresip decoded %d frames with sound, more than the %d packets the browser sent", loud, sent)
	}
}
