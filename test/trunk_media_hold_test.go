package test

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/webrtcpeer"
)

// TestTrunkMediaHoldDTMF: a browser over WSS calls a number routed to a
// trunk whose provider (rtpecho behind a real rtpengine) demands digest
// on the INVITE and on every re-INVITE. The browser puts the call on hold
// (re-INVITE a=sendonly, then a=inactive) and resumes it: each re-INVITE reaches the
// provider with the browser's direction after sipedge answered its 401
// with the trunk's credentials, and the browser gets browser SDP with the
// provider's answer direction; audio flows after resume. The browser's
// SIP INFO digits reach the provider as RFC 4733 events. Then the
// provider holds and resumes the call toward the browser, audio flows
// again, and the browser's BYE ends it (its CSeq shifted past the
// authenticated re-INVITEs).
func TestTrunkMediaHoldDTMF(t *testing.T) {
	m, prov := startTrunkProvider(t, mgwOptions{
		Media:     map[string]any{"dtmf": "rfc4733"},
		EchoMedia: rtpecho.MediaConfig{TelephoneEvent: true},
	}, true)
	ctx := withTimeout(t, 30*time.Second)
	b := m.newBrowser(ctx, t, browserOptions{Peer: webrtcpeer.Config{TelephoneEvent: true}, Renegotiate: true})
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
	if err := b.peer.SetAnswer(call.RemoteSDP); err != nil {
		t.Fatalf("browser refused the answer: %v", err)
	}
	if err := ec.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	if n := prov.invites.Load(); n != 1 {
		t.Fatalf("provider let in %d authenticated INVITEs, want 1", n)
	}
	echoExchange(ctx, t, "before hold", b.peer, ec.Media, mgwPackets)

	// Hold and resume from the browser: its own offer again, with the
	// direction changed and the o= version raised (RFC 3264 §8).
	for i, tc := range []struct{ dir, answer string }{
		{rtpecho.SendOnly, rtpecho.RecvOnly},
		{rtpecho.Inactive, rtpecho.Inactive},
		{rtpecho.SendRecv, rtpecho.SendRecv},
	} {
		sdp := reoffer(t, offer, tc.dir, i+1)
		res, err := call.Reinvite(ctx, sdp)
		if err != nil {
			t.Fatalf("browser re-INVITE %d (%s): %v", i+1, tc.dir, err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("browser re-INVITE %d (%s): %d %s, want 200", i+1, tc.dir, res.StatusCode, res.Reason)
		}
		if n := ec.Reinvites(); n != i+1 {
			t.Errorf("provider answered %d re-INVITEs, want %d", n, i+1)
		}
		if n, c := prov.reinvites.Load(), prov.rechallenged.Load(); n != int32(i+1) || c != int32(i+1) {
			t.Errorf("provider challenged %d re-INVITEs and let in %d authenticated, want %d each", c, n, i+1)
		}
		if got := ec.Media.Remote().Direction; got != tc.dir {
			t.Errorf("re-INVITE %d reached the provider with direction %s, the browser offered %s", i+1, got, tc.dir)
		}
		if r := ec.Media.Remote(); r.Proto != "RTP/AVP" {
			t.Errorf("re-INVITE %d toward the provider: proto %q, want RTP/AVP", i+1, r.Proto)
		}
		answer := string(res.Body())
		if err := browserSDPProblem(answer); err != nil {
			t.Errorf("200 to re-INVITE %d toward the browser: %v\n%s", i+1, err, answer)
		}
		if got := sdpDirection(answer); got != tc.answer {
			t.Errorf("200 to re-INVITE %d toward the browser has direction %s, want %s", i+1, got, tc.answer)
		}
		t.Logf("browser re-INVITE %d: offered %s, provider got %s, browser got %s", i+1, tc.dir, ec.Media.Remote().Direction, sdpDirection(answer))
	}
	m.expectSession(ctx, t, call.CallID)
	echoExchange(ctx, t, "after the browser resumed", b.peer, ec.Media, mgwPackets)

	// DTMF: INFO from the browser, played by rtpengine into its stream
	// toward the provider while the browser talks.
	sctx, stop := context.WithCancel(ctx)
	talking := make(chan error, 1)
	go func() { talking <- b.peer.Send(sctx, 150) }() // at most 3 s
	want := ""
	for _, digit := range []string{"1", "#", "7"} {
		res, err := call.Request(ctx, "INFO", "application/dtmf-relay", []byte("Signal="+digit+"\r\nDuration=120\r\n"))
		if err != nil {
			t.Fatalf("INFO %s: %v", digit, err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("INFO %s: %d %s, want 200", digit, res.StatusCode, res.Reason)
		}
		want += digit
		for end := time.Now().Add(2 * time.Second); ec.Media.Stats().DTMF != want && time.Now().Before(end); {
			pause(10 * time.Millisecond)
		}
		if s := ec.Media.Stats(); s.DTMF != want {
			t.Errorf("provider received DTMF %q, want %q (packets per payload type %v)", s.DTMF, want, s.ByPayloadType)
		}
	}
	stop()
	if err := <-talking; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("browser send: %v", err)
	}
	s := ec.Media.Stats()
	t.Logf("provider: DTMF %q, packets per payload type %v", s.DTMF, s.ByPayloadType)

	// Hold and resume from the provider: its re-offers reach the browser
	// as browser SDP with the provider's direction.
	for i, dir := range []string{rtpecho.SendOnly, rtpecho.SendRecv} {
		if err := ec.Reinvite(ctx, dir); err != nil {
			t.Fatalf("provider re-INVITE %d (%s): %v", i+1, dir, err)
		}
		offers, answers := call.Reoffers(), call.Reanswers()
		if len(offers) != i+1 || len(answers) != i+1 {
			t.Fatalf("provider re-INVITE %d: the browser saw %d re-offers, sent %d answers, want %d", i+1, len(offers), len(answers), i+1)
		}
		if err := browserSDPProblem(offers[i]); err != nil {
			t.Errorf("provider re-offer %d toward the browser: %v\n%s", i+1, err, offers[i])
		}
		if got := sdpDirection(offers[i]); got != dir {
			t.Errorf("provider re-offer %d reached the browser with direction %s, want %s", i+1, got, dir)
		}
		if want, got := sdpDirection(answers[i]), ec.Media.Remote().Direction; got != want {
			t.Errorf("provider re-INVITE %d: the browser answered %s, the provider got %s", i+1, want, got)
		}
	}
	echoExchange(ctx, t, "after the provider resumed", b.peer, ec.Media, mgwPackets)
	hangUp(ctx, t, "browser", call, ec, m.echo.Addr())
	m.waitSessionGone(ctx, t, call.CallID)
}

var sdpOrigin = regexp.MustCompile(`(?m)^o=(\S+) (\S+) (\d+) `)

// reoffer is the browser's offer again with direction dir on every
// stream and the o= version raised by n.
func reoffer(t *testing.T, offer, dir string, n int) string {
	t.Helper()
	m := sdpOrigin.FindStringSubmatch(offer)
	if m == nil {
		t.Fatalf("no o= line in the browser's offer:\n%s", offer)
	}
	v, err := strconv.ParseUint(m[3], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Replace(offer, m[0], "o="+m[1]+" "+m[2]+" "+strconv.FormatUint(v+uint64(n), 10)+" ", 1)
	for _, d := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
		out = strings.ReplaceAll(out, "a="+d+"\r\n", "a="+dir+"\r\n")
	}
	return out
}
