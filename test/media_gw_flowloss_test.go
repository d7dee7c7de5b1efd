package test

import (
	"github.com/emiago/sipgo/sip"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/wsua"
)

// TestMediaGWBrowserVanishes: the browser's WebSocket closes in the middle
// of a call with media (as when a tab is closed). sipedge ends the call
// toward the classic side with a BYE of its own and deletes the rtpengine
// session, whether the browser placed the call or received it.
func TestMediaGWBrowserVanishes(t *testing.T) {
	m := startMediaGW(t, mgwOptions{})
	for _, dir := range []string{"browser calls", "browser called"} {
		t.Run(dir, func(t *testing.T) {
			ctx := withTimeout(t, 15*time.Second)
			b := m.newBrowser(ctx, t, browserOptions{})
			var wc *wsua.Call
			var ec *rtpecho.Call
			if dir == "browser calls" {
				wc, ec = m.browserCallsEcho(ctx, t, b)
			} else {
				ec, wc = m.echoCallsBrowser(ctx, t, b)
			}
			echoExchange(ctx, t, "call", b.peer, ec.Media, mgwPackets/2)
			m.expectSession(ctx, t, ec.CallID)

			closed := time.Now()
			if err := b.ua.Close(); err != nil {
				t.Fatalf("close the browser's WebSocket: %v", err)
			}
			reason, err := ec.WaitEnded(ctx)
			if err != nil || reason != rtpecho.EndByeReceived {
				t.Fatalf("rtpecho after the browser vanished: reason %q, err %v; want %q", reason, err, rtpecho.EndByeReceived)
			}
			t.Logf("rtpecho got sipedge's BYE %v after the WebSocket closed", time.Since(closed).Round(time.Millisecond))
			checkByeFor(t, ec.ByeReceived(), wc, m.echo.Addr())
			if r := wc.EndReason(); r != wsua.EndConnectionLost {
				t.Errorf("browser call end reason %q, want %q", r, wsua.EndConnectionLost)
			}
			m.waitSessionGone(ctx, t, ec.CallID)
			waitLog(t, m.gw, 2*time.Second, 1, "call ended: browser connection lost", ec.CallID)
		})
	}
}

// checkByeFor fails unless bye (received by rtpecho at echoAddr) belongs
// to the browser's call wc: sent on the browser's behalf (From tag the
// browser's, To tag rtpecho's), to rtpecho's Contact.
func checkByeFor(t *testing.T, bye *sip.Request, wc *wsua.Call, echoAddr string) {
	t.Helper()
	if bye == nil {
		t.Fatalf("rtpecho recorded no BYE")
	}
	local, remote := wc.Tags()
	from, _ := bye.From().Params.Get("tag")
	to, _ := bye.To().Params.Get("tag")
	if from != local || to != remote || bye.CallID().Value() != wc.CallID {
		t.Errorf("BYE to rtpecho: Call-ID %s From tag %s To tag %s, want %s %s %s (the browser's dialog)\n%s",
			bye.CallID().Value(), from, to, wc.CallID, local, remote, bye)
	}
	if got := bye.Recipient.HostPort(); got != echoAddr {
		t.Errorf("BYE to rtpecho: Request-URI %s, want rtpecho's Contact at %s", bye.Recipient.String(), echoAddr)
	}
}
