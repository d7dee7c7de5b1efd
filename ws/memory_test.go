package ws

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// idleFigures is what one idle-connection measurement found.
type idleFigures struct {
	heapPerConn, stackPerConn, goroutinesPerConn float64
}

// measureIdle opens n idle WS connections to a fresh Server on loopback and
// returns the server-side cost per connection. The clients are bare TCP
// sockets that did the upgrade by hand and keep nothing else, so nearly all
// of the heap growth is the server's (each client socket adds roughly 200 B).
func measureIdle(tb testing.TB, n int) idleFigures {
	tb.Helper()
	s := NewServer(Config{MaxConns: n, MaxConnsPerIP: n}, answerHandler{}, nil)
	hs := httptest.NewServer(s)
	defer hs.Close()
	defer s.Close()
	addr := hs.Listener.Addr().String()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := upgradeRaw(addr)
		if err != nil {
			tb.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.Len() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d flows open", s.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	return idleFigures{
		heapPerConn:       float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n),
		stackPerConn:      float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n),
		goroutinesPerConn: float64(g1-g0) / float64(n),
	}
}

// upgradeRaw does a WebSocket upgrade with subprotocol sip over a bare TCP
// connection and returns it once the 101 has been read.
func upgradeRaw(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n", addr)
	res, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func benchConns() int {
	if n, err := strconv.Atoi(os.Getenv("WS_BENCH_CONNS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// TestIdleFlowMemory checks the 16 KiB-per-idle-connection target with 2,000
// connections, and one goroutine per idle flow.
func TestIdleFlowMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	fig := measureIdle(t, 2000)
	t.Logf("heap %.0f B/conn, stack %.0f B/conn, %.2f goroutines/conn", fig.heapPerConn, fig.stackPerConn, fig.goroutinesPerConn)
	if raceEnabled {
		return
	}
	if total := fig.heapPerConn + fig.stackPerConn; total > 16<<10 {
		t.Errorf("idle flow costs %.0f B (heap+stack), target 16384", total)
	}
	if fig.goroutinesPerConn > 1.01 {
		t.Errorf("%.2f goroutines per idle flow, want 1", fig.goroutinesPerConn)
	}
}

// BenchmarkIdleFlows reports heap and stack bytes per idle WS connection;
// WS_BENCH_CONNS sets the count (default 2000). Run with -benchtime 1x.
func BenchmarkIdleFlows(b *testing.B) {
	n := benchConns()
	var fig idleFigures
	for range b.N {
		fig = measureIdle(b, n)
	}
	b.ReportMetric(fig.heapPerConn, "heap-B/conn")
	b.ReportMetric(fig.stackPerConn, "stack-B/conn")
	b.ReportMetric(fig.goroutinesPerConn, "goroutines/conn")
	b.ReportMetric(0, "ns/op")
}
