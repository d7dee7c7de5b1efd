package test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/test/rtpecho"
	"github.com/sipedge/sipedge/test/wsua"
)

const (
	mgwDownTimeout = 500 * time.Millisecond // rtpengine.timeout in the config
	mgwDownMax     = 1500 * time.Millisecond
)

// silentNG is a UDP socket where an rtpengine should be that reads every
// datagram and answers none: a hung daemon.
type silentNG struct {
	conn net.PacketConn
	wg   sync.WaitGroup
	mu   sync.Mutex
	got  int
}

func startSilentNG(t *testing.T) *silentNG {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentNG{conn: c}
	s.wg.Add(1)
	go func() { // owner: s; stops when the socket is closed at cleanup
		defer s.wg.Done()
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
			s.mu.Lock()
			s.got++
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		s.wg.Wait()
	})
	return s
}

func (s *silentNG) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got
}

// TestMediaGWRTPEngineDown: with no rtpengine answering (a daemon that
// hangs: a silent socket; a daemon that is gone: a closed port), a call
// that needs media anchoring gets 503 within rtpengine.timeout (500ms
// here; the test allows 1.5s), from the browser over WSS and from the
// classic side over UDP, and never reaches the callee.
func TestMediaGWRTPEngineDown(t *testing.T) {
	silent := startSilentNG(t)
	for _, node := range []struct {
		name string
		addr string
	}{
		{"silent node", "udp:" + silent.conn.LocalAddr().String()},
		{"closed port", fmt.Sprintf("udp:127.0.0.1:%d", loopback.FreePort(t))},
	} {
		t.Run(node.name, func(t *testing.T) {
			m := startMediaGW(t, mgwOptions{RTPEngine: map[string]any{"nodes": []string{node.addr}, "timeout": mgwDownTimeout.String()}})
			ctx := withTimeout(t, 15*time.Second)
			b := m.newBrowser(ctx, t, browserOptions{})
			sentBefore := silent.received()

			t.Run("browser calls", func(t *testing.T) {
				offer, err := b.peer.CreateOffer()
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				_, err = b.ua.Invite(ctx, "sip:"+mgwEchoNumber+"@example.test", offer)
				elapsed := time.Since(start)
				var se *wsua.StatusError
				if !errors.As(err, &se) || se.Code != 503 {
					t.Fatalf("browser INVITE with rtpengine down: err %v, want 503", err)
				}
				t.Logf("browser got %d %s after %v (407 round trip included)", se.Code, se.Reason, elapsed.Round(time.Millisecond))
				if elapsed > mgwDownMax {
					t.Errorf("503 took %v, want < %v (rtpengine.timeout %v)", elapsed, mgwDownMax, mgwDownTimeout)
				}
			})
			t.Run("classic calls", func(t *testing.T) {
				start := time.Now()
				c, err := m.echo.Call(ctx, rtpecho.CallParams{To: "sip:" + mgwUser + "@example.test", Proxy: m.gwUDP})
				elapsed := time.Since(start)
				if c != nil {
					_ = c.Hangup(ctx)
				}
				var de *sipgo.ErrDialogResponse
				if !errors.As(err, &de) || de.Res.StatusCode != 503 {
					t.Fatalf("rtpecho INVITE with rtpengine down: err %v, want 503", err)
				}
				t.Logf("rtpecho got %s after %v", de.Res.StartLine(), elapsed.Round(time.Millisecond))
				if elapsed > mgwDownMax {
					t.Errorf("503 took %v, want < %v (rtpengine.timeout %v)", elapsed, mgwDownMax, mgwDownTimeout)
				}
			})
			if node.name == "silent node" {
				t.Logf("the silent node got %d ng datagrams", silent.received()-sentBefore)
				if silent.received() == sentBefore {
					t.Errorf("sipedge sent no ng command to the silent node")
				}
			}
			if calls := m.echo.Calls(); len(calls) != 0 {
				t.Errorf("rtpecho got %d calls; a call without media relay must not reach the callee", len(calls))
			}
			wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			if _, err := b.ua.WaitCall(wctx); err == nil {
				t.Errorf("the browser was rung although rtpengine is down")
			}
			for _, l := range waitLog(t, m.gw, time.Second, 2, "request failed", "code=503") {
				t.Logf("sipedge: %s", l)
			}
		})
	}
}
