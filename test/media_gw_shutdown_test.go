package test

import (
	"syscall"
	"testing"
	"time"
)

// TestMediaGWShutdownEndsCalls: SIGTERM with a browser call up ends it
// cleanly: the classic party gets a BYE, rtpengine forgets the session, and
// sipedge exits promptly (no wait for an rtpengine timeout).
func TestMediaGWShutdownEndsCalls(t *testing.T) {
	m := startMediaGW(t, mgwOptions{})
	ctx := withTimeout(t, 15*time.Second)
	b := m.newBrowser(ctx, t, browserOptions{})
	_, ec := m.browserCallsEcho(ctx, t, b)
	echoExchange(ctx, t, "call", b.peer, ec.Media, 10)
	m.expectSession(ctx, t, ec.CallID)
	start := time.Now()
	if err := m.gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.gw.done:
	case <-time.After(5 * time.Second):
		t.Fatal("sipedge still running 5s after SIGTERM")
	}
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Errorf("sipedge took %s to stop with one call up, want < 900ms", d)
	}
	if ec.ByeReceived() == nil {
		t.Errorf("the classic party got no BYE when sipedge stopped (end reason %q)", ec.EndReason())
	}
	m.waitSessionGone(ctx, t, ec.CallID)
}
