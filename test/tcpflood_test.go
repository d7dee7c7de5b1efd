package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTCPFloodFileLimit runs sipedge with a file limit of 48 (soft) / 96
// (hard) and caps far above it, and opens TCP connections from one source
// until accept fails with EMFILE: sipedge must keep running, answer over
// UDP meanwhile, and accept TCP again once the flood connections close.
func TestTCPFloodFileLimit(t *testing.T) {
	p := startSipedge(t, proxyConfig{
		LogLevel:  "info",
		FileLimit: [2]int{48, 96},
		TCP:       map[string]any{"max_connections": 10000, "max_connections_per_ip": 10000},
	})
	// The soft limit was raised to the hard one, and logged.
	if !regexp.MustCompile(`msg="file limit" soft=96 hard=96 raised_from=\d+`).MatchString(p.Log()) {
		t.Fatalf("file limit not raised to 96 or not logged:\n%s", p.Log())
	}
	options := func(stage string) {
		t.Helper()
		c := newUDPClient(t, p.Addr(t, "udp"))
		if res := c.roundTrip(t, optionsMsg("UDP", c.local.String(), stage), 1); res.StatusCode != 200 {
			t.Fatalf("%s: UDP OPTIONS got %d", stage, res.StatusCode)
		}
	}
	options("before")

	// 200 connections: more than 96 descriptors; the kernel queues what
	// sipedge cannot accept.
	tcpAddr := p.Addr(t, "tcp")
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			_ = c.Close()
		}
	}()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	for range 200 {
		c, err := d.Dial("tcp", tcpAddr)
		if err != nil {
			break // backlog full
		}
		flood = append(flood, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Log(), "accept failed, retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open and no accept failure logged:\n%s", len(flood), p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(p.Log(), "too many open files") {
		t.Fatalf("accept failed, but not with EMFILE:\n%s", p.Log())
	}
	t.Logf("%d connections opened; accept hit EMFILE", len(flood))
	time.Sleep(1500 * time.Millisecond) // a few backoff rounds at the 1s cap
	select {
	case <-p.done:
		t.Fatalf("sipedge exited under the flood (%v):\n%s", p.err, p.Log())
	default:
	}
	options("during")

	for _, c := range flood {
		_ = c.Close()
	}
	flood = nil
	// Within a backoff round or two TCP is served again.
	start := time.Now()
	var got string
	for time.Since(start) < 10*time.Second {
		if got = tcpOptions(t, tcpAddr, "127.0.0.3"); strings.HasPrefix(got, "SIP/2.0 200") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("TCP not served after the flood closed: %q\n%s", got, p.Log())
	}
	t.Logf("TCP OPTIONS answered %v after the flood closed", time.Since(start).Round(time.Millisecond))
	options("after")
	t.Logf("log: %d lines, %d of them \"accept failed, retrying\"", strings.Count(p.Log(), "\n"), strings.Count(p.Log(), "accept failed, retrying"))
	select {
	case <-p.done:
		t.Fatalf("sipedge exited (%v)", p.err)
	default:
	}
}

// optionsMsg is an OPTIONS to the proxy itself, sent from src over transport.
func optionsMsg(transport, src, branch string) string {
	return fmt.Sprintf("OPTIONS sip:example.test SIP/2.0\r\n"+
		"Via: SIP/2.0/%s %s;branch=z9hG4bK-%s;rport\r\n"+
		"Max-Forwards: 70\r\nFrom: <sip:probe@example.test>;tag=%s\r\nTo: <sip:example.test>\r\n"+
		"Call-ID: %s@flood\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", transport, src, branch, branch, branch)
}

// tcpOptions sends an OPTIONS over a new TCP connection from src and
// returns the status line of the answer (or what went wrong).
func tcpOptions(t *testing.T, addr, src string) string {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, optionsMsg("TCP", c.LocalAddr().String(), "tcp-"+randHex(4))); err != nil {
		return "write: " + err.Error()
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "read: " + err.Error()
	}
	return strings.TrimRight(line, "\r\n")
}
