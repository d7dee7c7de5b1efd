package gateway

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// dnsCounter is a resolver that counts the DNS queries it is asked to
// send and sends none: tests stay on loopback, and a count above zero
// means sipgo resolved a name.
type dnsCounter struct{ n atomic.Int64 }

func (d *dnsCounter) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		d.n.Add(1)
		return nil, errors.New("test: no DNS")
	}}
}

// check fails t if any DNS query was attempted.
func (d *dnsCounter) check(t *testing.T, when string) {
	t.Helper()
	if n := d.n.Load(); n > 0 {
		t.Errorf("%s: %d DNS queries, want none (a response must go to the Via's received address)", when, n)
	}
}

// optionsFrom is an OPTIONS for the proxy itself whose top Via is
// transport, sentBy and params.
func optionsFrom(transport, sentBy, params, branch string) string {
	return msg("", "OPTIONS sip:example.test SIP/2.0",
		"Via: SIP/2.0/"+transport+" "+sentBy+params+";branch=z9hG4bK-"+branch,
		"Max-Forwards: 70", "From: <sip:a@example.test>;tag=1", "To: <sip:example.test>",
		"Call-ID: received-"+branch, "CSeq: 1 OPTIONS", "Content-Length: 0", "", "")
}

// topVia parses a response and returns its status line and top Via.
func topVia(t *testing.T, raw string) (string, *sip.ViaHeader) {
	t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("response does not parse: %v\n%s", err, raw)
	}
	res, ok := m.(*sip.Response)
	if !ok || res.Via() == nil {
		t.Fatalf("not a response with a Via:\n%s", raw)
	}
	line, _, _ := strings.Cut(raw, "\r\n")
	return line, res.Via()
}

// wantVia checks a Via carries exactly one received (ip) and, if rport is
// not empty, exactly one rport with that value.
func wantVia(t *testing.T, via *sip.ViaHeader, ip, rport string) {
	t.Helper()
	s := via.String()
	if got, _ := via.Params.Get("received"); got != ip || strings.Count(s, "received=") != 1 {
		t.Errorf("Via %q: want exactly one received=%s", s, ip)
	}
	if rport == "" {
		return
	}
	if got, _ := via.Params.Get("rport"); got != rport || strings.Count(s, "rport") != 1 {
		t.Errorf("Via %q: want exactly one rport=%s", s, rport)
	}
}

// TestResponseToReceived sends requests whose top Via names a host that
// does not resolve (RFC 6761 .invalid, RFC 4475's example.com names) and
// checks the answer reaches the sender at once, with received (and rport)
// recorded in the Via, and that nothing was looked up in DNS: RFC 3261
// §18.2.1 and §18.2.2, RFC 3581 §4.
func TestResponseToReceived(t *testing.T) {
	var dns dnsCounter
	t.Cleanup(func() { dns.check(t, "after the gateway stopped") }) // runs last
	gw := startGWWith(t, baseConfig(), Deps{Resolver: dns.resolver(),
		Listeners: []Listener{{Transport: "ws", Addr: "127.0.0.1:0", Path: "/ws"}}})

	t.Run("udp rport", func(t *testing.T) {
		p := newUDPPeer(t)
		_, port, _ := net.SplitHostPort(p.addr())
		start := time.Now()
		p.send(gw.addr["udp"], optionsFrom("UDP", "nowhere.invalid", ";rport", "u1"))
		raw := p.recv(time.Second)
		if raw == "" {
			t.Fatal("no answer at the sender's socket")
		}
		line, via := topVia(t, raw)
		if !strings.HasPrefix(line, "SIP/2.0 200 ") {
			t.Fatalf("got %q, want 200", line)
		}
		wantVia(t, via, "127.0.0.1", port)
		t.Logf("answered in %v", time.Since(start))
	})
	t.Run("udp sent-by port", func(t *testing.T) {
		p := newUDPPeer(t)
		_, port, _ := net.SplitHostPort(p.addr())
		p.send(gw.addr["udp"], optionsFrom("UDP", "host1.example.com:"+port, "", "u2"))
		raw := p.recv(time.Second)
		if raw == "" {
			t.Fatal("no answer at the sender's socket")
		}
		line, via := topVia(t, raw)
		if !strings.HasPrefix(line, "SIP/2.0 200 ") {
			t.Fatalf("got %q, want 200", line)
		}
		wantVia(t, via, "127.0.0.1", "")
	})
	t.Run("tcp", func(t *testing.T) {
		c, err := net.Dial("tcp", gw.addr["tcp"])
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(optionsFrom("TCP", "nowhere.invalid", "", "t1"))); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		raw, err := readStreamMessage(bufio.NewReader(c))
		if err != nil {
			t.Fatalf("no answer on the connection: %v", err)
		}
		line, via := topVia(t, raw)
		if !strings.HasPrefix(line, "SIP/2.0 200 ") {
			t.Fatalf("got %q, want 200", line)
		}
		wantVia(t, via, "127.0.0.1", "")
	})
	t.Run("tcp closed before the answer", func(t *testing.T) {
		// The connection is gone when sipgo looks for it: RFC 3261
		// §18.2.2 opens a new one to received and the sent-by port (here a
		// listener of ours), never to what the sent-by name resolves to.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted []net.Conn
			answers  atomic.Int64
		)
		defer func() {
			ln.Close()
			mu.Lock()
			for _, c := range accepted {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
			t.Logf("%d of 20 answers came on a new connection to received:port", answers.Load())
		}()
		wg.Add(1)
		go func() { // owner: this subtest; ends when ln is closed
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				accepted = append(accepted, c)
				mu.Unlock()
				wg.Add(1)
				go func() { // ends when c is closed (above, or by the gateway)
					defer wg.Done()
					r := bufio.NewReader(c)
					for {
						if _, err := readStreamMessage(r); err != nil {
							return
						}
						answers.Add(1)
					}
				}()
			}
		}()
		_, lport, _ := net.SplitHostPort(ln.Addr().String())
		for i := range 20 {
			c, err := net.Dial("tcp", gw.addr["tcp"])
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Write([]byte(optionsFrom("TCP", "nowhere.invalid:"+lport, "", "tc"+strconv.Itoa(i))))
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("ws", func(t *testing.T) {
		// Responses go down the flow; nothing is resolved either.
		c := dialWSClient(t, gw.addr["ws"])
		c.send(t, []byte(optionsFrom("WS", "df7jal23ls0d.invalid", "", "w1")))
		if got := c.recvStatus(time.Second); !strings.HasPrefix(got, "SIP/2.0 200 ") {
			t.Fatalf("got %q, want 200", got)
		}
	})
	// A last request answered means the gateway is alive; the requests
	// before it have been looked at by now or will be before it stops.
	p := newUDPPeer(t)
	p.send(gw.addr["udp"], optionsFrom("UDP", "nowhere.invalid", ";rport", "last"))
	if got := p.recvStatus(time.Second); !strings.HasPrefix(got, "SIP/2.0 200 ") {
		t.Fatalf("got %q, want 200", got)
	}
	dns.check(t, "after the requests were answered")
}

// TestForwardKeepsOneReceived checks that a request from a sent-by name
// is forwarded with exactly one received (and rport) on the sender's Via,
// and its answer is relayed back to the sender's socket.
func TestForwardKeepsOneReceived(t *testing.T) {
	var dns dnsCounter
	sk := newSink(t)
	gw := startGWWith(t, tortureConfig(sk.addr()), Deps{Resolver: dns.resolver()})
	p := newUDPPeer(t)
	_, port, _ := net.SplitHostPort(p.addr())
	p.send(gw.addr["udp"], msg("", "OPTIONS sip:user@example.com SIP/2.0",
		"Via: SIP/2.0/UDP nowhere.invalid;rport;branch=z9hG4bK-fwd1",
		"Max-Forwards: 70", "From: <sip:a@example.com>;tag=1", "To: <sip:user@example.com>",
		"Call-ID: received-fwd1", "CSeq: 1 OPTIONS", "Content-Length: 0", "", ""))
	if got := p.recvStatus(2 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200 ") {
		t.Fatalf("got %q, want the sink's 200 relayed", got)
	}
	fwd := sk.next(time.Second)
	if fwd == nil {
		t.Fatal("nothing forwarded")
	}
	m, err := sip.ParseMessage(fwd)
	if err != nil {
		t.Fatal(err)
	}
	var hops []*sip.ViaHeader // sipgo splits comma-separated hops
	for _, h := range m.(*sip.Request).GetHeaders("Via") {
		hops = append(hops, h.(*sip.ViaHeader))
	}
	if len(hops) != 2 {
		t.Fatalf("forwarded with %d Via hops, want ours and the sender's:\n%s", len(hops), fwd)
	}
	wantVia(t, hops[1], "127.0.0.1", port)
	dns.check(t, "after the answer was relayed")
}

// readStreamMessage reads one SIP message without a body from a stream.
func readStreamMessage(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\r\n" && b.Len() > 2 {
			return b.String(), nil
		}
	}
}
