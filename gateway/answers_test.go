package gateway

import (
	"bytes"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/retrans"
)

// TestRetransmittedRegister resends each REGISTER of a digest flow with the
// same branch: the challenge and the 200 come back byte for byte, and the
// authenticated retransmission is not refused as a replay (403) or out of
// order, as it would be if it reached authentication and the registrar
// again.
func TestRetransmittedRegister(t *testing.T) {
	gw := startGW(t, baseConfig())
	dst := gw.addr["udp"]
	p := newUDPPeer(t)
	first := registerRequest(p.addr(), 1, 1, "")
	p.send(dst, first)
	c1 := p.recv(2 * time.Second)
	if !strings.HasPrefix(c1, "SIP/2.0 401 ") {
		t.Fatalf("REGISTER: got %q, want 401", c1)
	}
	p.send(dst, first)
	if c2 := p.recv(2 * time.Second); c2 != c1 {
		t.Fatalf("retransmitted REGISTER got\n%s\nwant the same 401\n%s", c2, c1)
	}
	authed := registerRequest(p.addr(), 1, 2, digestMD5(c1, 1))
	p.send(dst, authed)
	ok1 := p.recv(2 * time.Second)
	if !strings.HasPrefix(ok1, "SIP/2.0 200 ") {
		t.Fatalf("REGISTER with credentials: got %q, want 200", ok1)
	}
	for range 2 {
		p.send(dst, authed)
		if ok2 := p.recv(2 * time.Second); ok2 != ok1 {
			t.Fatalf("retransmitted REGISTER got\n%s\nwant the same 200\n%s", ok2, ok1)
		}
	}
	// The same credentials in a new transaction are a replay.
	p.send(dst, strings.Replace(authed, "branch=z9hG4bK-1-2", "branch=z9hG4bK-1-3", 1))
	if got := p.recvStatus(2 * time.Second); !strings.HasPrefix(got, "SIP/2.0 403 ") {
		t.Fatalf("replayed credentials in a new transaction: got %q, want 403", got)
	}
	if n, _ := gw.g.authAnswers.Stats(); n != 1 {
		t.Fatalf("%d authenticated answers cached, want 1", n)
	}
}

// fakeUDPConn is a sipgo connection over a UDP socket that records what
// the transaction itself writes (WriteMsg) and what is written raw.
type fakeUDPConn struct {
	raw  [][]byte
	msgs int
}

func (c *fakeUDPConn) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060}
}
func (c *fakeUDPConn) WriteMsg(sip.Message) error { c.msgs++; return nil }
func (c *fakeUDPConn) Ref(int) int                { return 1 }
func (c *fakeUDPConn) TryClose() (int, error)     { return 0, nil }
func (c *fakeUDPConn) Close() error               { return nil }
func (c *fakeUDPConn) WriteTo(b []byte, _ net.Addr) (int, error) {
	c.raw = append(c.raw, bytes.Clone(b))
	return len(b), nil
}

// TestStatelessAnswerEndsTransaction checks that a local final answer to a
// REGISTER over UDP is written raw, kept in cache, and ends the server
// transaction at once (no Timer J state), and that an INVITE keeps its
// transaction.
func TestStatelessAnswerEndsTransaction(t *testing.T) {
	g := &Gateway{log: slog.New(slog.DiscardHandler), anonAnswers: retrans.New(1<<20, retrans.TimerJ),
		authAnswers: retrans.New(1<<20, retrans.TimerJ)}
	parse := func(s string) *sip.Request {
		m, err := sip.ParseMessage([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("192.0.2.7:5062")
		req.SetTransport("UDP")
		return req
	}
	req := parse(registerRequest("192.0.2.7:5062", 1, 1, ""))
	conn := &fakeUDPConn{}
	tx := sip.NewServerTx("key", req, conn, slog.New(slog.DiscardHandler))
	if err := tx.Init(); err != nil {
		t.Fatal(err)
	}
	res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
	if err := g.localTx(req, tx, g.anonAnswers).Respond(res); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tx.Done():
	default:
		t.Fatal("server transaction still alive after a stateless answer")
	}
	if len(conn.raw) != 1 || conn.msgs != 0 || !bytes.HasPrefix(conn.raw[0], []byte("SIP/2.0 401 ")) {
		t.Fatalf("raw writes %d, transaction writes %d", len(conn.raw), conn.msgs)
	}
	// The retransmission, in a new transaction, gets the same bytes.
	tx2 := sip.NewServerTx("key", req, conn, slog.New(slog.DiscardHandler))
	if err := tx2.Init(); err != nil {
		t.Fatal(err)
	}
	if !g.answerRetransmission(req, tx2) {
		t.Fatal("retransmission not answered from cache")
	}
	if len(conn.raw) != 2 || !bytes.Equal(conn.raw[1], conn.raw[0]) {
		t.Fatal("retransmission answered differently")
	}
	select {
	case <-tx2.Done():
	default:
		t.Fatal("retransmission's transaction still alive")
	}

	inv := parse(strings.Replace(registerRequest("192.0.2.7:5062", 2, 1, ""), "REGISTER", "INVITE", -1))
	itx := sip.NewServerTx("ikey", inv, conn, slog.New(slog.DiscardHandler))
	if got := g.localTx(inv, itx, g.anonAnswers); got != sip.ServerTransaction(itx) {
		t.Fatal("INVITE answered statelessly")
	}
	itx.Terminate()
}

// TestNewResponse checks the lean builder against sipgo's
// NewResponseFromRequest: the same headers, bar the To tag's value.
func TestNewResponse(t *testing.T) {
	raw := "INVITE sip:bob@example.test SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bK1;rport\r\n" +
		"Via: SIP/2.0/UDP 192.0.2.8:5060;branch=z9hG4bK0\r\n" +
		"Record-Route: <sip:192.0.2.8;lr>\r\n" +
		"From: <sip:alice@example.test>;tag=a\r\n" +
		"To: <sip:bob@example.test>\r\n" +
		"Call-ID: c1\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	for _, code := range []int{100, 180, 200, 407} {
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource("203.0.113.5:4000")
		req.SetTransport("UDP")
		want := sip.NewResponseFromRequest(req, code, "X", nil)
		got := newResponse(req, code, "X")
		norm := func(res *sip.Response) []string {
			var out []string
			for _, h := range res.Headers() {
				v := h.Value()
				if h.Name() == "To" {
					v, _, _ = strings.Cut(v, ";tag=")
					if res.To().Params.Has("tag") {
						v += ";tag"
					}
				}
				out = append(out, h.Name()+": "+v)
			}
			slices.Sort(out)
			return out
		}
		if g, w := norm(got), norm(want); !slices.Equal(g, w) {
			t.Errorf("%d: headers\n%s\nwant\n%s", code, strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
		if got.Destination() != want.Destination() || got.Transport() != want.Transport() {
			t.Errorf("%d: destination %s %s, want %s %s", code, got.Destination(), got.Transport(), want.Destination(), want.Transport())
		}
	}
}

func BenchmarkNewResponse(b *testing.B) {
	m, err := sip.ParseMessage([]byte(registerRequest("192.0.2.7:5062", 1, 1, "")))
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*sip.Request)
	req.SetSource("192.0.2.7:5062")
	req.SetTransport("UDP")
	b.Run("sipgo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		}
	})
	b.Run("lean", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = newResponse(req, 401, "Unauthorized")
		}
	})
}
