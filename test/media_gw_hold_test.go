package test

import (
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
)

// TestMediaGWHoldResume: rtpecho calls the browser, media flows, then
// rtpecho puts the call on hold (re-INVITE a=sendonly) and resumes it
// (re-INVITE a=sendrecv) through sipedge, which rewrites each re-offer
// through rtpengine on the call's node. The browser answers each
// re-INVITE: with a fresh pion answer to rtpengine's re-offer
// (renegotiate), or with its previous answer. Media flows after resume
// and rtpengine keeps the one session until the BYE.
func TestMediaGWHoldResume(t *testing.T) {
	m := startMediaGW(t, mgwOptions{})
	for _, renegotiate := range []bool{true, false} {
		name := "previous answer"
		if renegotiate {
			name = "renegotiate"
		}
		t.Run(name, func(t *testing.T) {
			ctx := withTimeout(t, 15*time.Second)
			b := m.newBrowser(ctx, t, browserOptions{Renegotiate: renegotiate})
			ec, wc := m.echoCallsBrowser(ctx, t, b)
			echoExchange(ctx, t, "before hold", b.peer, ec.Media, mgwPackets)

			// The re-offers must reach the browser as browser SDP with the
			// direction rtpecho asked for; the browser's answers must reach
			// rtpecho with the direction the browser chose.
			for i, dir := range []string{rtpecho.SendOnly, rtpecho.SendRecv} {
				if err := ec.Reinvite(ctx, dir); err != nil {
					t.Fatalf("re-INVITE %d (%s): %v", i+1, dir, err)
				}
				offers, answers := wc.Reoffers(), wc.Reanswers()
				if len(offers) != i+1 || len(answers) != i+1 {
					t.Fatalf("re-INVITE %d (%s): the browser saw %d re-offers and sent %d answers, want %d", i+1, dir, len(offers), len(answers), i+1)
				}
				if err := browserSDPProblem(offers[i]); err != nil {
					t.Errorf("re-offer %d toward the browser: %v\n%s", i+1, err, offers[i])
				}
				if got := sdpDirection(offers[i]); got != dir {
					t.Errorf("re-offer %d toward the browser has direction %s, rtpecho offered %s:\n%s", i+1, got, dir, offers[i])
				}
				want, got := sdpDirection(answers[i]), ec.Media.Remote().Direction
				if got != want {
					t.Errorf("re-INVITE %d (%s): rtpecho got answer direction %s, the browser answered %s", i+1, dir, got, want)
				}
				t.Logf("re-INVITE %d: rtpecho offered %s, the browser answered %s, rtpecho got %s", i+1, dir, want, got)
				if err := browserSDPProblem(answers[i]); err != nil && renegotiate {
					t.Errorf("browser answer %d: %v", i+1, err)
				}
			}
			if n := wc.Reinvites(); n != 2 {
				t.Errorf("browser answered %d re-INVITEs, want 2", n)
			}
			m.expectSession(ctx, t, ec.CallID)
			echoExchange(ctx, t, "after resume", b.peer, ec.Media, mgwPackets)
			if b.peer.State() != "connected" {
				t.Errorf("browser peer state %s after resume, want connected", b.peer.State())
			}
			hangUp(ctx, t, "classic", wc, ec, m.echo.Addr())
			m.waitSessionGone(ctx, t, ec.CallID)
		})
	}
}

// sdpDirection returns the direction attribute of sdp's first audio
// stream (sendrecv when none is written).
func sdpDirection(sdp string) string {
	r, err := rtpecho.ParseRemote(sdp)
	if err != nil {
		return "unparsable: " + err.Error()
	}
	return r.Direction
}
