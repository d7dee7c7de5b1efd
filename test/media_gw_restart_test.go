package test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/wsua"
)

// The rtpengine section of the restart test: short health timers so the
// test sees a whole kill-and-restart cycle in a few seconds.
const (
	restartTimeout  = 500 * time.Millisecond // rtpengine.timeout
	restartPing     = time.Second            // rtpengine.ping_interval
	restartDisable  = 2 * time.Second        // rtpengine.disable_duration
	restart503Max   = 3 * restartTimeout     // a new call's 503, 407 round trip included
	restartEndMax   = time.Second            // BYE / re-INVITE final response during the outage
	restartRecovery = restartDisable + 2*restartPing + time.Second
)

// TestMediaGWRTPEngineRestart: the real rtpengine is killed (SIGKILL) with
// two calls up (one placed by the browser, one by the classic phone), then
// started again on the same ng port with the same flags; sipedge is not
// restarted.
//
//   - New calls during the outage, from the browser over WSS and from the
//     classic side over UDP, get 503 within restart503Max (the offer gives
//     up after rtpengine.timeout, or at once once the node is marked
//     failed), and ring nobody.
//   - The calls in progress are not left hanging. Their media stops (it
//     ran through the dead daemon), but signalling goes on without waiting
//     for rtpengine: a re-INVITE gets a final failure within restartEndMax
//     and the call stays up; a BYE from either side gets its 200 within
//     restartEndMax and reaches the other party; sipedge removes the
//     dialog (its rtpengine delete is attempted and fails promptly), so
//     closing the browsers' WebSockets afterwards ends nothing twice.
//   - After the restart, health pings bring the node back within
//     disable_duration + 2 ping intervals (+1s), and a new browser call
//     connects with two-way media through the new daemon.
//
// It runs once with sipedge talking ng over UDP and once over TCP (where
// the kill breaks the connection and the client must dial again).
func TestMediaGWRTPEngineRestart(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) { testRTPEngineRestart(t, network) })
	}
}

func testRTPEngineRestart(t *testing.T, network string) {
	rtpe := rtpenginetest.StartProc(t, 100, 6)
	node := rtpe.UDP
	if network == "tcp" {
		node = rtpe.TCP
	}
	m := startMediaGW(t, mgwOptions{RTPEngine: map[string]any{
		"nodes":            []string{node},
		"timeout":          restartTimeout.String(),
		"ping_interval":    restartPing.String(),
		"disable_duration": restartDisable.String(),
	}})
	m.ng = newNGClient(t, &rtpengineProc{NG: rtpe.UDP})
	ctx := withTimeout(t, 60*time.Second)

	// Two calls with media through rtpengine. B first (rtpecho calls alice
	// while bB is her only registration), then A (a browser calls rtpecho).
	bB := m.newBrowser(ctx, t, browserOptions{})
	ecB, wcB := m.echoCallsBrowser(ctx, t, bB)
	echoExchange(ctx, t, "call B before the kill", bB.peer, ecB.Media, mgwPackets/2)
	bA := m.newBrowser(ctx, t, browserOptions{})
	wcA, ecA := m.browserCallsEcho(ctx, t, bA)
	echoExchange(ctx, t, "call A before the kill", bA.peer, ecA.Media, mgwPackets/2)
	m.expectSession(ctx, t, ecA.CallID)
	m.expectSession(ctx, t, ecB.CallID)
	bC := m.newBrowser(ctx, t, browserOptions{}) // idle: places the new call during the outage

	rtpe.Kill()
	killed := time.Now()
	t.Logf("rtpengine killed (SIGKILL) with calls %s and %s up", ecA.CallID, ecB.CallID)

	t.Run("new calls get 503", func(t *testing.T) {
		start := time.Now()
		c, err := m.echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP})
		classic := time.Since(start)
		if c != nil {
			_ = c.Hangup(ctx)
		}
		var de *sipgo.ErrDialogResponse
		if !errors.As(err, &de) || de.Res.StatusCode != 503 {
			t.Fatalf("classic INVITE with rtpengine dead: err %v, want 503", err)
		}
		t.Logf("classic call got %s %v after the kill, in %v", de.Res.StartLine(), start.Sub(killed).Round(time.Millisecond), classic.Round(time.Millisecond))
		if classic > restart503Max {
			t.Errorf("classic 503 took %v, want < %v (rtpengine.timeout %v)", classic, restart503Max, restartTimeout)
		}

		offer, err := bC.peer.CreateOffer()
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		_, err = bC.ua.Invite(ctx, "sip:"+mgwEchoNumber+"@example.test", offer)
		tookB := time.Since(start)
		var se *wsua.StatusError
		if !errors.As(err, &se) || se.Code != 503 {
			t.Fatalf("browser INVITE with rtpengine dead: err %v, want 503", err)
		}
		t.Logf("browser call got %d %s in %v (407 round trip included)", se.Code, se.Reason, tookB.Round(time.Millisecond))
		if tookB > restart503Max {
			t.Errorf("browser 503 took %v, want < %v", tookB, restart503Max)
		}
		if n := len(m.echo.Calls()); n != 2 {
			t.Errorf("rtpecho has %d calls, want the 2 from before the kill", n)
		}
		for name, b := range map[string]*browser{"bA": bA, "bB": bB, "bC": bC} {
			wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			if _, err := b.ua.WaitCall(wctx); err == nil {
				t.Errorf("browser %s was rung during the outage", name)
			}
			cancel()
		}
	})

	t.Run("calls in progress are not left hanging", func(t *testing.T) {
		// Media ran through the dead daemon: nothing arrives any more.
		inBefore := ecA.Media.Stats().PacketsIn
		if err := bA.peer.Send(ctx, 10); err != nil {
			t.Fatalf("peer send: %v", err)
		}
		pause(100 * time.Millisecond)
		if d := ecA.Media.Stats().PacketsIn - inBefore; d != 0 {
			t.Errorf("rtpecho got %d packets of call A after the kill, want 0", d)
		}

		// A re-INVITE (hold) from the classic side needs rtpengine: it fails
		// at once, and the call stays up.
		start := time.Now()
		err := ecB.Reinvite(ctx, rtpecho.SendOnly)
		took := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("re-INVITE of call B during the outage: %v, want a 503", err)
		}
		t.Logf("re-INVITE of call B: %v in %v", err, took.Round(time.Millisecond))
		if took > restartEndMax {
			t.Errorf("re-INVITE final response took %v, want < %v", took, restartEndMax)
		}

		// BYE from the browser (call A) and from the classic phone (call B).
		start = time.Now()
		if err := wcA.Bye(ctx); err != nil {
			t.Errorf("browser BYE of call A: %v, want 200", err)
		}
		took = time.Since(start)
		t.Logf("browser BYE of call A answered in %v", took.Round(time.Millisecond))
		if took > restartEndMax {
			t.Errorf("BYE of call A took %v, want < %v", took, restartEndMax)
		}
		if r, err := ecA.WaitEnded(ctx); err != nil || r != rtpecho.EndByeReceived {
			t.Errorf("rtpecho's end of call A: %q %v, want %q", r, err, rtpecho.EndByeReceived)
		}

		start = time.Now()
		if err := ecB.Hangup(ctx); err != nil {
			t.Errorf("classic BYE of call B: %v, want 200", err)
		}
		took = time.Since(start)
		t.Logf("classic BYE of call B answered in %v", took.Round(time.Millisecond))
		if took > restartEndMax {
			t.Errorf("BYE of call B took %v, want < %v", took, restartEndMax)
		}
		if r, err := wcB.WaitEnded(ctx); err != nil || r != wsua.EndByeReceived {
			t.Errorf("browser's end of call B: %q %v, want %q", r, err, wsua.EndByeReceived)
		}

		// The dialogs are gone: their media delete ran (and failed: the
		// daemon is dead) ...
		for _, id := range []string{ecA.CallID, ecB.CallID} {
			for _, l := range waitLog(t, m.gw, restartEndMax, 1, "rtpengine delete failed", id) {
				t.Logf("sipedge: %s", l)
			}
		}
		// ... and the browsers' flows closing now ends no call.
		closedBefore := len(logLines(m.gw, "flow closed, bindings"))
		_ = bA.ua.Close()
		_ = bB.ua.Close()
		waitLog(t, m.gw, 2*time.Second, closedBefore+2, "flow closed, bindings")
		pause(200 * time.Millisecond) // the flow's calls are taken right after that line (a goroutine started there)
		for _, id := range []string{ecA.CallID, ecB.CallID} {
			if l := logLines(m.gw, "call ended: browser connection lost", id); len(l) > 0 {
				t.Errorf("sipedge still had the dialog of %s after its BYE: %s", id, l[0])
			}
		}
	})

	t.Run("after the restart new calls work", func(t *testing.T) {
		for _, l := range logLines(m.gw, "rtpengine node taken out of rotation") {
			t.Logf("sipedge: %s", l)
		}
		rtpe.Restart()
		restarted := time.Now()
		t.Logf("rtpengine restarted on %s %v after the kill", node, restarted.Sub(killed).Round(time.Millisecond))
		lines := waitLog(t, m.gw, restartRecovery, 1, "rtpengine node back in rotation")
		back := time.Since(restarted)
		t.Logf("sipedge: %s", lines[0])
		t.Logf("node back in rotation %v after the restart (disable_duration %v, ping_interval %v)", back.Round(10*time.Millisecond), restartDisable, restartPing)

		_ = bC.ua.Close() // its peer holds the refused offer; a fresh browser calls
		bD := m.newBrowser(ctx, t, browserOptions{})
		wc, ec := m.browserCallsEcho(ctx, t, bD)
		t.Logf("first call after the restart connected %v after the restart", time.Since(restarted).Round(time.Millisecond))
		echoExchange(ctx, t, "call after the restart", bD.peer, ec.Media, mgwPackets)
		m.expectSession(ctx, t, ec.CallID)
		if err := wc.Bye(ctx); err != nil {
			t.Errorf("BYE after the restart: %v", err)
		}
		m.waitSessionGone(ctx, t, ec.CallID)
	})
}
