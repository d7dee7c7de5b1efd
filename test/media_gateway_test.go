package test

import (
	"context"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/wsua"
)

// TestMediaGWBrowserCallsClassic: the browser registers over WSS (digest),
// calls the echo number (407, then routed over UDP to rtpecho), completes
// ICE + DTLS-SRTP with rtpengine and gets its own audio back; rtpecho's
// own stream reaches the browser. Then one side hangs up and rtpengine
// forgets the call.
func TestMediaGWBrowserCallsClassic(t *testing.T) {
	m := startMediaGW(t, mgwOptions{})
	for _, hangup := range []string{"browser", "classic"} {
		t.Run(hangup+" hangs up", func(t *testing.T) {
			ctx := withTimeout(t, 15*time.Second)
			b := m.newBrowser(ctx, t, browserOptions{})
			call, ec := m.browserCallsEcho(ctx, t, b)
			if call.Invite.GetHeader("Proxy-Authorization") == nil {
				t.Errorf("the browser's INVITE was not challenged (407): it went through without Proxy-Authorization")
			}
			if len(call.Provisional) == 0 {
				t.Errorf("browser saw no provisional response (want 100/180)")
			}
			echoExchange(ctx, t, "call", b.peer, ec.Media, mgwPackets)
			m.expectSession(ctx, t, call.CallID)
			hangUp(ctx, t, hangup, call, ec, m.echo.Addr())
			m.waitSessionGone(ctx, t, call.CallID)
		})
	}
}

// TestMediaGWClassicCallsBrowser: rtpecho (trusted) calls alice's AOR
// through sipedge; the call goes down alice's WSS flow, the browser
// answers through rtpengine's ICE + DTLS-SRTP offer, and media flows both
// ways. Then one side hangs up and rtpengine forgets the call.
func TestMediaGWClassicCallsBrowser(t *testing.T) {
	m := startMediaGW(t, mgwOptions{})
	for _, hangup := range []string{"classic", "browser"} {
		t.Run(hangup+" hangs up", func(t *testing.T) {
			ctx := withTimeout(t, 15*time.Second)
			b := m.newBrowser(ctx, t, browserOptions{})
			ec, wc := m.echoCallsBrowser(ctx, t, b)
			echoExchange(ctx, t, "call", b.peer, ec.Media, mgwPackets)
			m.expectSession(ctx, t, ec.CallID)
			hangUp(ctx, t, hangup, wc, ec, m.echo.Addr())
			m.waitSessionGone(ctx, t, ec.CallID)
		})
	}
}

// hangUp ends the call from side ("browser" or "classic") and checks the
// other side got the BYE (rtpecho, at echoAddr, the browser's BYE in the
// browser's dialog).
func hangUp(ctx context.Context, t *testing.T, side string, wc *wsua.Call, ec *rtpecho.Call, echoAddr string) {
	t.Helper()
	switch side {
	case "browser":
		if err := wc.Bye(ctx); err != nil {
			t.Fatalf("browser BYE: %v", err)
		}
		reason, err := ec.WaitEnded(ctx)
		if err != nil || reason != rtpecho.EndByeReceived {
			t.Fatalf("rtpecho after the browser's BYE: reason %q, err %v; want %q", reason, err, rtpecho.EndByeReceived)
		}
		checkByeFor(t, ec.ByeReceived(), wc, echoAddr)
	default:
		if err := ec.Hangup(ctx); err != nil {
			t.Fatalf("rtpecho BYE: %v", err)
		}
		reason, err := wc.WaitEnded(ctx)
		if err != nil || reason != wsua.EndByeReceived {
			t.Fatalf("browser after rtpecho's BYE: reason %q, err %v; want %q", reason, err, wsua.EndByeReceived)
		}
	}
}
