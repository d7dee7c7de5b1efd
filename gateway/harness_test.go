package gateway

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// testGW is a gateway running in-process on loopback.
type testGW struct {
	g    *Gateway
	addr map[string]string // transport -> bound addr
}

// startGW runs a gateway with cfg on 127.0.0.1:0 for udp and tcp and waits
// for its readiness hook.
func startGW(t testing.TB, cfg Config) *testGW {
	t.Helper()
	return startGWWith(t, cfg, Deps{})
}

// startGWWith is startGW with extra dependencies; its listeners are added
// to udp and tcp on 127.0.0.1:0, and its Logger (if set) replaces the
// default one.
func startGWWith(t testing.TB, cfg Config, extra Deps) *testGW {
	t.Helper()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	lvl := slog.LevelWarn
	if os.Getenv("SIPEDGE_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	ready := make(chan []Listener, 1)
	deps := extra
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	}
	deps.Listeners = append([]Listener{{Transport: "udp", Addr: "127.0.0.1:0"}, {Transport: "tcp", Addr: "127.0.0.1:0"}}, extra.Listeners...)
	deps.Ready = func(b []Listener) { ready <- b }
	g, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	// Goroutines of this test that predate the gateway are not its own.
	before := goleak.IgnoreCurrent()
	var runErr error
	stopped := make(chan struct{})
	go func() {
		runErr = g.Run(context.Background())
		close(stopped)
	}()
	tg := &testGW{g: g, addr: map[string]string{}}
	t.Cleanup(func() {
		// Close returns when Run has; the timeout only names a hang.
		go func() { _ = g.Close() }()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("gateway did not stop")
			return
		}
		if runErr != nil {
			t.Errorf("gateway: %v", runErr)
		}
		// Every goroutine the gateway started has ended with it.
		goleak.VerifyNone(t, before)
	})
	select {
	case b := <-ready:
		for _, l := range b {
			tg.addr[l.Transport] = l.Addr
		}
	case <-stopped:
		t.Fatalf("gateway exited: %v", runErr)
	case <-time.After(5 * time.Second):
		t.Fatal("gateway not ready")
	}
	return tg
}

func baseConfig() Config {
	return Config{
		Domains: []string{"example.test"},
		Users:   map[string]User{"alice": {Password: "alice-secret"}, "bob": {Password: "bob-secret"}},
	}
}

// udpPeer is a raw UDP socket on loopback for sending crafted messages.
type udpPeer struct {
	t    testing.TB
	conn *net.UDPConn
}

func newUDPPeer(t testing.TB) *udpPeer {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, conn: c}
}

func (p *udpPeer) addr() string { return p.conn.LocalAddr().String() }

func (p *udpPeer) send(to, msg string) {
	p.t.Helper()
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDP([]byte(msg), ua); err != nil {
		p.t.Fatal(err)
	}
}

// recv returns the next datagram, or "" after wait.
func (p *udpPeer) recv(wait time.Duration) string {
	buf := make([]byte, 65535)
	_ = p.conn.SetReadDeadline(time.Now().Add(wait))
	n, _, err := p.conn.ReadFromUDP(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}

// recvStatus waits for a response and returns its status line, skipping
// 100 Trying.
func (p *udpPeer) recvStatus(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		m := p.recv(time.Until(deadline))
		if m == "" {
			return ""
		}
		line, _, _ := strings.Cut(m, "\r\n")
		if strings.HasPrefix(line, "SIP/2.0 100 ") {
			continue
		}
		return line
	}
	return ""
}

// msg builds a SIP message from lines, fixing line endings; {src} is
// replaced with the peer address.
func msg(src string, lines ...string) string {
	s := strings.Join(lines, "\r\n")
	return strings.ReplaceAll(s, "{src}", src)
}

func itoa(i int) string { return strconv.Itoa(i) }
