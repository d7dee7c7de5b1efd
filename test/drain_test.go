package test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/rtpecho"
)

// TestDrainOnSigterm: with shutdown.drain set, SIGTERM is a rolling
// upgrade's graceful stop. A browser without a call is asked to reconnect
// at once (its WebSocket closes), a new call to the user gets 503 with
// Retry-After, the call in progress keeps its media, and the process
// exits when that call ends, well before the drain time.
func TestDrainOnSigterm(t *testing.T) {
	rtpe := startRTPEngine(t)
	echo, err := rtpecho.Start(rtpecho.Config{Addr: mgwEchoIP + ":0", User: "echo"})
	if err != nil {
		t.Fatalf("rtpecho: %v", err)
	}
	t.Cleanup(func() { _ = echo.Close() })
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	gw := startSipedge(t, proxyConfig{
		Listen:     []string{"udp://127.0.0.1:0", "wss://127.0.0.1:0/ws"},
		Users:      map[string]string{mgwUser: mgwPassword},
		Trusted:    []string{mgwEchoIP + "/32"},
		Routes:     []proxyRoute{{User: "^" + mgwEchoNumber + "$", To: []string{"sip:" + echo.Addr() + ";transport=udp"}}},
		TLSCert:    certFile,
		TLSKey:     keyFile,
		Algorithms: []string{"MD5"},
		RTPEngine:  map[string]any{"nodes": []string{rtpe.NG}, "timeout": "1s"},
		Extra:      map[string]any{"shutdown": map[string]any{"drain": "20s"}},
	})
	m := &mediaGW{rtpe: rtpe, ng: newNGClient(t, rtpe), gw: gw, echo: echo, pool: pool,
		wssURL: "wss://" + gw.Addr(t, "wss") + "/ws", gwUDP: gw.Addr(t, "udp")}
	ctx := withTimeout(t, 40*time.Second)
	idle := m.newBrowser(ctx, t, browserOptions{})
	busy := m.newBrowser(ctx, t, browserOptions{})
	call, ec := m.browserCallsEcho(ctx, t, busy)

	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-idle.ua.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the idle browser's WebSocket is still open 3s into the drain")
	}
	gw.logWithin(t, 3*time.Second, "code=1012")
	_, err = echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("new call while draining: %v, want 503", err)
	}
	echoExchange(ctx, t, "call during the drain", busy.peer, ec.Media, mgwPackets)
	select {
	case <-gw.done:
		t.Fatal("sipedge exited with a call in progress")
	default:
	}

	start := time.Now()
	if err := call.Bye(ctx); err != nil {
		t.Fatalf("BYE during the drain: %v", err)
	}
	select {
	case <-gw.done:
		t.Logf("exited %v after the last call ended", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("sipedge still running 5s after the last call ended")
	}
	if !strings.Contains(gw.Log(), "drained: stopping") || !strings.Contains(gw.Log(), "calls_left=0") {
		t.Errorf("no drained line with calls_left=0 in the log")
	}
}
