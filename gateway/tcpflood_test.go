package gateway

import (
	"bufio"
	stdtls "crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/internal/listen"
	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestTCPFlood: one source opening connections past the per-address cap,
// and several past the total cap, over TCP and TLS, leave the gateway
// running and serving others over TCP, TLS and UDP; a half-sent message is
// cut at message_timeout; an invalid Max-Forwards over TCP is answered 400
// by the gateway's own stream filter (wire.Check) and the connection stays
// usable.
func TestTCPFlood(t *testing.T) {
	certFile, keyFile, cert := tlstest.WriteCert(t, t.TempDir(), "gateway-test")
	pair, err := stdtls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	tcpCfg := listen.Config{MaxConns: 40, MaxConnsPerIP: 10, MessageTimeout: 500 * time.Millisecond, IdleTimeout: time.Minute}
	gw := startGWWith(t, baseConfig(), Deps{
		Listeners: []Listener{{Transport: "tls", Addr: "127.0.0.1:0"}},
		TLS:       &stdtls.Config{Certificates: []stdtls.Certificate{pair}, MinVersion: stdtls.VersionTLS12},
		TCP:       tcpCfg,
	})
	tcpAddr, tlsAddr := gw.addr["tcp"], gw.addr["tls"]
	dialTLS := func(src string) net.Conn {
		t.Helper()
		d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := stdtls.DialWithDialer(d, "tcp", tlsAddr, &stdtls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatalf("tls from %s: %v", src, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	udp := newUDPPeer(t)
	serves := func(stage string) {
		t.Helper()
		udp.send(gw.addr["udp"], optionsTo("UDP", udp.addr(), "udp-"+strings.ReplaceAll(stage, " ", "-"), "70"))
		if got := udp.recvStatus(2 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
			t.Fatalf("%s: UDP OPTIONS got %q", stage, got)
		}
	}
	serves("before")

	// 127.0.0.2 opens 30 TCP and 30 TLS connections: 10 stay (the cap is
	// per address over both listeners), the rest are closed at accept.
	held, refused := 0, 0
	for i := range 60 {
		if i%2 == 1 { // TLS: refused at accept means the handshake fails
			d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
			c, err := stdtls.DialWithDialer(d, "tcp", tlsAddr, &stdtls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
			if err != nil {
				refused++
				continue
			}
			t.Cleanup(func() { _ = c.Close() })
			if loopback.ClosedByPeer(c, 50*time.Millisecond) {
				refused++
			} else {
				held++
			}
			continue
		}
		if loopback.ClosedByPeer(loopback.DialFrom(t, "127.0.0.2", tcpAddr), 100*time.Millisecond) {
			refused++
		} else {
			held++
		}
	}
	if held != 10 || refused != 50 {
		t.Fatalf("127.0.0.2: %d held, %d refused; want 10 and 50", held, refused)
	}
	serves("per-address flood")
	optionsOver(t, "tcp", loopback.DialFrom(t, "127.0.0.9", tcpAddr), "tcp-1")
	optionsOver(t, "tls", dialTLS("127.0.0.9"), "tls-1")

	// Three more sources fill the total cap (40, 2 used by .9); the next
	// connection from anywhere is refused, and UDP still answers.
	var fill []net.Conn
	for i := range 28 {
		fill = append(fill, loopback.DialFrom(t, fmt.Sprintf("127.0.0.%d", 3+i%3), tcpAddr))
	}
	for _, c := range fill {
		if loopback.ClosedByPeer(c, 50*time.Millisecond) {
			t.Fatal("a connection within the total cap was refused")
		}
	}
	if c := loopback.DialFrom(t, "127.0.0.6", tcpAddr); !loopback.ClosedByPeer(c, 2*time.Second) {
		t.Fatal("a connection beyond max_connections was not refused")
	}
	serves("total flood")
	if total, addrs := gw.g.streams.Count(); total != 40 || addrs != 5 {
		t.Fatalf("counted %d connections from %d addresses, want 40 from 5", total, addrs)
	}
	for _, c := range fill {
		_ = c.Close()
	}
	waitFor := func(cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("condition not reached in 2s")
			}
		}
	}
	waitFor(func() bool { total, _ := gw.g.streams.Count(); return total == 12 })
	optionsOver(t, "tcp", loopback.DialFrom(t, "127.0.0.9", tcpAddr), "tcp-2")
	optionsOver(t, "tls", dialTLS("127.0.0.9"), "tls-2")
	serves("after")

	// A half-sent message is cut at message_timeout.
	half := loopback.DialFrom(t, "127.0.0.10", tcpAddr)
	start := time.Now()
	if _, err := io.WriteString(half, optionsTo("TCP", half.LocalAddr().String(), "half", "70")[:80]); err != nil {
		t.Fatal(err)
	}
	if !loopback.ClosedByPeer(half, 3*time.Second) {
		t.Fatal("half-sent message not cut")
	}
	cut := time.Since(start)
	if cut < tcpCfg.MessageTimeout || cut > tcpCfg.MessageTimeout+time.Second {
		t.Fatalf("half-sent message cut after %v, want about %v", cut, tcpCfg.MessageTimeout)
	}
	t.Logf("half-sent message cut after %v (message_timeout %v)", cut.Round(time.Millisecond), tcpCfg.MessageTimeout)

	// An invalid Max-Forwards over TCP gets 400, and the connection goes on.
	c := loopback.DialFrom(t, "127.0.0.11", tcpAddr)
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, optionsTo("TCP", c.LocalAddr().String(), "mf", "abc")); err != nil {
		t.Fatal(err)
	}
	if got := readStatus(t, c, r); !strings.HasPrefix(got, "SIP/2.0 400") {
		t.Fatalf("invalid Max-Forwards over TCP got %q, want 400", got)
	}
	if _, err := io.WriteString(c, optionsTo("TCP", c.LocalAddr().String(), "mf-after", "70")); err != nil {
		t.Fatal(err)
	}
	if got := readStatus(t, c, r); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after the 400 got %q", got)
	}
}

// optionsTo is an OPTIONS to the proxy itself over transport from src.
func optionsTo(transport, src, branch, maxForwards string) string {
	return strings.Join([]string{
		"OPTIONS sip:example.test SIP/2.0",
		"Via: SIP/2.0/" + transport + " " + src + ";branch=z9hG4bK-" + branch + ";rport",
		"Max-Forwards: " + maxForwards,
		"From: <sip:probe@example.test>;tag=" + branch,
		"To: <sip:example.test>",
		"Call-ID: " + branch + "@flood",
		"CSeq: 1 OPTIONS",
		"Content-Length: 0",
		"", "",
	}, "\r\n")
}

// optionsOver sends an OPTIONS on c and wants 200 back.
func optionsOver(t *testing.T, name string, c net.Conn, branch string) {
	t.Helper()
	if _, err := io.WriteString(c, optionsTo(strings.ToUpper(name), c.LocalAddr().String(), branch, "70")); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := readStatus(t, c, bufio.NewReader(c)); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("%s OPTIONS from %s got %q", name, c.LocalAddr(), got)
	}
}

// readStatus reads one response from r (headers and Content-Length body)
// and returns its status line.
func readStatus(t *testing.T, c net.Conn, r *bufio.Reader) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	status, err := r.ReadString('\n')
	if err != nil {
		return "read error: " + err.Error()
	}
	cl := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "read error: " + err.Error()
		}
		if line == "\r\n" {
			break
		}
		if name, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			_, _ = fmt.Sscan(strings.TrimSpace(v), &cl)
		}
	}
	if _, err := io.CopyN(io.Discard, r, int64(cl)); err != nil {
		return "read error: " + err.Error()
	}
	return strings.TrimRight(status, "\r\n")
}
