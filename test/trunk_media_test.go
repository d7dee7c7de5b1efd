package test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/test/rtpecho"
)

// trunkMediaGW is a media gateway whose rtpecho is a trunk's provider: it
// demands digest (realm carrier.test, acct / pw) on every initial INVITE,
// counting the ones it let in; +1555... numbers are routed to it, and its
// DID +15550100 rings the browser user.
func trunkMediaGW(t *testing.T) (*mediaGW, *atomic.Int32) {
	t.Helper()
	m, p := startTrunkProvider(t, mgwOptions{}, false)
	return m, &p.invites
}

// trunkProvider counts what rtpecho, as a trunk's provider, let in after
// checking the digest.
type trunkProvider struct {
	invites   atomic.Int32 // initial INVITEs
	reinvites atomic.Int32 // re-INVITEs (with reinvites)
	// rechallenged counts the re-INVITEs answered with a challenge.
	rechallenged atomic.Int32
}

// startTrunkProvider is trunkMediaGW with opts (media, rtpecho's media)
// as well; with reinvites the provider demands digest on every re-INVITE
// too, as on initial INVITEs.
func startTrunkProvider(t *testing.T, opts mgwOptions, reinvites bool) (*mediaGW, *trunkProvider) {
	t.Helper()
	a, err := auth.New(auth.Config{Realm: "carrier.test"}, map[string]auth.Secret{"acct": {Password: "pw"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &trunkProvider{}
	check := func(req *sip.Request, n, challenged *atomic.Int32) *sip.Response {
		if _, err := a.Check(req, false); err != nil {
			if challenged != nil {
				challenged.Add(1)
			}
			return a.Challenge(req, false, errors.Is(err, auth.ErrStale))
		}
		n.Add(1)
		return nil
	}
	opts.EchoChallenge = func(req *sip.Request) *sip.Response {
		if !strings.HasPrefix(req.Recipient.User, "+1555") {
			return nil // the provider's own calls out (DIDs) are not challenged here
		}
		return check(req, &p.invites, nil)
	}
	if reinvites {
		opts.EchoChallengeReinvite = func(req *sip.Request) *sip.Response { return check(req, &p.reinvites, &p.rechallenged) }
	}
	opts.Trunk = map[string]any{
		"username": "acct", "password": "pw", "from_user": "+15550100",
		"dids": map[string]string{"+15550100": mgwUser},
	}
	opts.TrunkRoute = `^\+1555`
	return startMediaGW(t, opts), p
}

// TestTrunkMediaBrowserCallsTrunk: a browser over WSS calls a number
// routed to the trunk; the provider's 401 is answered with the trunk's
// credentials; ICE + DTLS-SRTP toward the browser, plain RTP toward the
// provider, audio both ways; then either side hangs up and rtpengine
// forgets the call.
func TestTrunkMediaBrowserCallsTrunk(t *testing.T) {
	m, authorized := trunkMediaGW(t)
	for i, hangup := range []string{"browser", "classic"} {
		t.Run(hangup+" hangs up", func(t *testing.T) {
			ctx := withTimeout(t, 15*time.Second)
			b := m.newBrowser(ctx, t, browserOptions{})
			offer, err := b.peer.CreateOffer()
			if err != nil {
				t.Fatal(err)
			}
			call, err := b.ua.Invite(ctx, "sip:+15550199@example.test", offer)
			if err != nil {
				t.Fatalf("browser INVITE +15550199: %v", err)
			}
			ec, err := m.echo.WaitCall(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ec.CallID != call.CallID {
				t.Fatalf("provider got call %s, the browser placed %s", ec.CallID, call.CallID)
			}
			if n := authorized.Load(); n != int32(i+1) {
				t.Errorf("provider let in %d authenticated INVITEs, want %d", n, i+1)
			}
			if err := browserSDPProblem(call.RemoteSDP); err != nil {
				t.Errorf("200 OK toward the browser: %v\n%s", err, call.RemoteSDP)
			}
			if err := b.peer.SetAnswer(call.RemoteSDP); err != nil {
				t.Fatalf("browser refused the answer: %v", err)
			}
			if r := ec.Media.Remote(); r.Proto != "RTP/AVP" {
				t.Errorf("offer toward the provider: proto %q, want RTP/AVP", r.Proto)
			}
			if err := ec.WaitAck(ctx); err != nil {
				t.Fatal(err)
			}
			echoExchange(ctx, t, "call", b.peer, ec.Media, mgwPackets)
			m.expectSession(ctx, t, call.CallID)
			hangUp(ctx, t, hangup, call, ec, m.echo.Addr())
			m.waitSessionGone(ctx, t, call.CallID)
		})
	}
}

// TestTrunkMediaDIDRingsBrowser: the provider calls the DID +15550100
// from its own address (trusted, no digest): the browser user it maps to
// rings over WSS, answers, audio flows both ways; an unknown DID gets 404.
func TestTrunkMediaDIDRingsBrowser(t *testing.T) {
	m, _ := trunkMediaGW(t)
	ctx := withTimeout(t, 15*time.Second)
	b := m.newBrowser(ctx, t, browserOptions{})
	ec, err := m.echo.Call(ctx, rtpecho.CallParams{To: "sip:+15550100@example.test", Proxy: m.gwUDP})
	if err != nil {
		t.Fatalf("provider INVITE +15550100: %v", err)
	}
	wc, err := b.ua.WaitCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wc.CallID != ec.CallID {
		t.Fatalf("browser got call %s, the provider placed %s", wc.CallID, ec.CallID)
	}
	if err := wc.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	echoExchange(ctx, t, "DID call", b.peer, ec.Media, mgwPackets)
	hangUp(ctx, t, "classic", wc, ec, m.echo.Addr())
	m.waitSessionGone(ctx, t, ec.CallID)

	_, err = m.echo.Call(ctx, rtpecho.CallParams{To: "sip:+15550999@example.test", Proxy: m.gwUDP})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown DID: %v, want 404", err)
	}
}
