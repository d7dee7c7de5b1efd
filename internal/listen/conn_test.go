package listen

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/tls/tlstest"
)

// server reads every accepted connection as sipgo does (one goroutine per
// connection, 32 KiB reads) and reports each Read, and the end.
type server struct {
	addr  string
	reads chan string // each Read's bytes; "END:"+error when the connection ends
	s     *Streams
}

// startServer serves Streams cfg/filter on 127.0.0.1:0 (over TLS when tlsConf
// is set) until the test ends.
func startServer(t *testing.T, cfg Config, filter Filter, tlsConf *tls.Config) *server {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{addr: raw.Addr().String(), reads: make(chan string, 1024), s: NewStreams(cfg, filter, nil)}
	ln := srv.s.Limit(raw)
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	ln = srv.s.Frame(ln)
	done := make(chan struct{})
	conns := make(chan net.Conn, 64)
	go func() { // owner: this test; ends when ln closes (cleanup), waited there
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() { // owner: this test; ends when c does, which cleanup forces
				buf := make([]byte, 32768)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						srv.reads <- string(buf[:n])
					}
					if err != nil {
						srv.reads <- "END:" + err.Error()
						_ = c.Close()
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		close(conns)
		for c := range conns {
			_ = c.Close()
		}
	})
	return srv
}

// read returns the next Read seen by the server, or fails after d.
func (s *server) read(t *testing.T, d time.Duration) string {
	t.Helper()
	select {
	case r := <-s.reads:
		return r
	case <-time.After(d):
		t.Fatalf("nothing read within %v", d)
		return ""
	}
}

func testConfig() Config {
	return Config{MaxConns: 100, MaxConnsPerIP: 100, MessageTimeout: 300 * time.Millisecond,
		IdleTimeout: 2 * time.Second, WriteTimeout: time.Second, MaxMessageSize: 4096}
}

func TestStreamsFraming(t *testing.T) {
	srv := startServer(t, testConfig(), nil, nil)
	c := loopback.DialFrom(t, "127.0.0.1", srv.addr)
	a := sipMsg("a", "", "auto")
	b := sipMsg("b", "v=0\r\ns=-\r\n", "auto")
	// Pipelined in one write, with keepalives: one Read per unit.
	if _, err := io.WriteString(c, "\r\n\r\n"+a+b+"\r\n"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\r\n\r\n", a, b, "\r\n"} {
		if got := srv.read(t, 2*time.Second); got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	// A body split over writes arrives whole.
	head, body, _ := strings.Cut(b, "\r\n\r\n")
	for _, part := range []string{head[:10], head[10:] + "\r\n\r\n", body[:3], body[3:]} {
		if _, err := io.WriteString(c, part); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // separate segments
	}
	if got := srv.read(t, 2*time.Second); got != b {
		t.Fatalf("split message read as %q", got)
	}
}

func TestStreamsBrokenMessageAnswered(t *testing.T) {
	cases := []struct {
		name, msg, status string
	}{
		{"bad Content-Length", sipMsg("x1", "", "abc"), "SIP/2.0 400 Bad Content-Length"},
		{"missing Content-Length", sipMsg("x2", "", ""), "SIP/2.0 400 Missing Content-Length"},
		{"too large", sipMsg("x3", "", "5000"), "SIP/2.0 413 Request Entity Too Large"},
		{"headers too large", sipMsg("x4", "", "0", "X-Pad: "+strings.Repeat("p", 5000)), ""},
	}
	srv := startServer(t, testConfig(), nil, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := loopback.DialFrom(t, "127.0.0.1", srv.addr)
			if _, err := io.WriteString(c, tc.msg); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil && !isReset(err) {
				t.Fatalf("connection not closed: %v", err)
			}
			line, _, _ := strings.Cut(string(got), "\r\n")
			if line != tc.status {
				t.Fatalf("answer %q, want %q", line, tc.status)
			}
			if r := srv.read(t, 2*time.Second); r != "END:EOF" {
				t.Fatalf("server read %q, want END:EOF", r)
			}
		})
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "reset")
}

func TestStreamsMessageTimeout(t *testing.T) {
	cfg := testConfig()
	srv := startServer(t, cfg, nil, nil)
	c := loopback.DialFrom(t, "127.0.0.1", srv.addr)
	// Keepalives do not start a message; a slow drip does not extend it.
	if _, err := io.WriteString(c, "\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := srv.read(t, time.Second); got != "\r\n\r\n" {
		t.Fatalf("read %q", got)
	}
	time.Sleep(2 * cfg.MessageTimeout)
	half := sipMsg("h", "", "auto")
	start := time.Now()
	for i := 0; i < 20 && !loopback.ClosedByPeer(c, 0); i++ {
		if _, err := io.WriteString(c, half[i:i+1]); err != nil {
			break
		}
		time.Sleep(cfg.MessageTimeout / 10)
	}
	if !loopback.ClosedByPeer(c, 2*time.Second) {
		t.Fatal("half-sent message not cut")
	}
	el := time.Since(start)
	if el < cfg.MessageTimeout || el > cfg.MessageTimeout+500*time.Millisecond {
		t.Fatalf("half-sent message cut after %v, want about %v", el, cfg.MessageTimeout)
	}
	if r := srv.read(t, time.Second); r != "END:EOF" {
		t.Fatalf("server read %q, want END:EOF", r)
	}
	t.Logf("half-sent message cut after %v (message_timeout %v)", el.Round(time.Millisecond), cfg.MessageTimeout)
}

func TestStreamsIdleTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.MessageTimeout, cfg.IdleTimeout = 100*time.Millisecond, 400*time.Millisecond
	srv := startServer(t, cfg, nil, nil)
	c := loopback.DialFrom(t, "127.0.0.1", srv.addr)
	// Traffic within the idle timeout keeps it open...
	for range 3 {
		time.Sleep(cfg.IdleTimeout / 2)
		if _, err := io.WriteString(c, sipMsg("i", "", "auto")); err != nil {
			t.Fatal(err)
		}
		srv.read(t, time.Second)
	}
	// ...silence closes it.
	start := time.Now()
	if !loopback.ClosedByPeer(c, 2*time.Second) {
		t.Fatal("idle connection not closed")
	}
	if el := time.Since(start); el < cfg.IdleTimeout-50*time.Millisecond || el > cfg.IdleTimeout+500*time.Millisecond {
		t.Fatalf("idle connection closed after %v, want about %v", el, cfg.IdleTimeout)
	}
	for range 3 {
		if r := srv.read(t, time.Second); strings.HasPrefix(r, "END:") {
			break
		}
	}
	// Closed before Read reported the end: its slot is free.
	if total, _ := srv.s.Count(); total != 0 {
		t.Fatalf("%d connections still counted", total)
	}
}

func TestStreamsFilter(t *testing.T) {
	var seen, srcs []string
	filter := func(msg []byte, src net.Addr) ([]byte, []byte, error) {
		seen = append(seen, string(msg)) // the reader goroutine only
		srcs = append(srcs, src.String())
		switch {
		case bytes.Contains(msg, []byte("Max-Forwards: abc")):
			return nil, []byte("SIP/2.0 400 Bad Max-Forwards\r\nContent-Length: 0\r\n\r\n"), errors.New("bad Max-Forwards")
		case bytes.Contains(msg, []byte("X-Drop: yes")):
			return nil, nil, nil
		case bytes.Contains(msg, []byte("X-Rewrite: yes")):
			return []byte("REWRITTEN"), nil, nil
		}
		return msg, nil, nil
	}
	srv := startServer(t, testConfig(), filter, nil)
	c := loopback.DialFrom(t, "127.0.0.1", srv.addr)
	bad := strings.Replace(sipMsg("f1", "", "auto"), "Max-Forwards: 70", "Max-Forwards: abc", 1)
	good := sipMsg("f2", "", "auto")
	stream := bad + sipMsg("f3", "", "auto", "X-Drop: yes") + "\r\n\r\n" + sipMsg("f4", "", "auto", "X-Rewrite: yes") + good
	if _, err := io.WriteString(c, stream); err != nil {
		t.Fatal(err)
	}
	// Keepalives bypass the filter; skipped messages never reach the reader.
	for _, want := range []string{"\r\n\r\n", "REWRITTEN", good} {
		if got := srv.read(t, 2*time.Second); got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "SIP/2.0 400 Bad Max-Forwards\r\n" {
		t.Fatalf("reply %q, %v", line, err)
	}
	if len(seen) != 4 {
		t.Fatalf("filter saw %d messages, want 4", len(seen))
	}
	for _, src := range srcs {
		if src != c.LocalAddr().String() {
			t.Fatalf("filter told source %s, want the client's %s", src, c.LocalAddr())
		}
	}
	// The connection stays usable.
	if _, err := io.WriteString(c, good); err != nil {
		t.Fatal(err)
	}
	if got := srv.read(t, 2*time.Second); got != good {
		t.Fatalf("read %q after the refusal", got)
	}
}

func TestStreamsTLS(t *testing.T) {
	certFile, keyFile, cert := tlstest.WriteCert(t, t.TempDir(), "listen-test")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	srv := startServer(t, cfg, nil, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})

	// A connection that never starts its handshake is closed within
	// message_timeout.
	raw := loopback.DialFrom(t, "127.0.0.1", srv.addr)
	start := time.Now()
	if !loopback.ClosedByPeer(raw, 2*time.Second) {
		t.Fatal("silent TLS connection not closed")
	}
	if el := time.Since(start); el > cfg.MessageTimeout+500*time.Millisecond {
		t.Fatalf("silent TLS connection closed after %v", el)
	}
	if r := srv.read(t, time.Second); r != "END:EOF" {
		t.Fatalf("server read %q, want END:EOF", r)
	}

	// A real client gets its messages framed.
	pool := newPool(cert)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", srv.addr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := sipMsg("t", "hello", "auto")
	if _, err := io.WriteString(c, m+m); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := srv.read(t, 2*time.Second); got != m {
			t.Fatalf("read %q", got)
		}
	}
}

func newPool(cert *x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(cert)
	return p
}
