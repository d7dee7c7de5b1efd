package ws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
)

func TestRegisterAndRequestOverFlow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		secure    bool
		transport string
		frame     websocket.MessageType
	}{
		{"ws-text", false, "WS", websocket.MessageText},
		{"ws-binary", false, "WS", websocket.MessageBinary},
		{"wss-text", true, "WSS", websocket.MessageText},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{}, tc.secure)
			c := ts.dial(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Write(ctx, tc.frame, sample(t, "jssip-register.sip")); err != nil {
				t.Fatal(err)
			}
			res := recvResponse(t, c)
			if res.StatusCode != 200 || res.CallID().Value() != "8nd2u1ar4bm8m2e7e5u1ta" {
				t.Fatalf("got %s", res.Short())
			}
			reqs := ts.h.requests()
			if len(reqs) != 1 || reqs[0].Method != sip.REGISTER {
				t.Fatalf("handler saw %d requests", len(reqs))
			}
			f := ts.waitFlow(t)
			if got := reqs[0].Transport(); got != tc.transport {
				t.Errorf("transport = %q, want %q", got, tc.transport)
			}
			if reqs[0].Source() != f.Source() || f.Transport() != tc.transport || len(f.ID()) != 16 {
				t.Errorf("source %q flow %s", reqs[0].Source(), f)
			}
			if g, ok := ts.Flow(f.ID()); !ok || g != f {
				t.Errorf("Flow(%q) not found", f.ID())
			}

			// The gateway sends an OPTIONS down the flow and gets the
			// client's 200 through the client transaction.
			opt := newOptions(f, "z9hG4bK-opt-1")
			tx, err := f.Request(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			in := recv(t, c)
			inReq, ok := in.(*sip.Request)
			if !ok || inReq.Method != sip.OPTIONS {
				t.Fatalf("client got %s", in.String())
			}
			sendMsg(t, c, sip.NewResponseFromRequest(inReq, 200, "OK", nil))
			select {
			case r := <-tx.Responses():
				if r.StatusCode != 200 {
					t.Fatalf("tx got %d", r.StatusCode)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no response on client transaction")
			}
			waitTxZero(t, f)
		})
	}
}

func newOptions(f *Flow, branch string) *sip.Request {
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{User: "8a3kq0t5", Host: "df7jal23ls0d.invalid"})
	via := sip.NewParams()
	via.Add("branch", branch)
	tag := sip.NewParams()
	tag.Add("tag", "e1")
	req.AppendHeader(&sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: f.Transport(),
		Host: "edge.example.com", Port: 443, Params: via})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Host: "edge.example.com"}, Params: tag})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{User: "alice", Host: "example.com"}})
	callID := sip.CallIDHeader("opt-" + branch)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.OPTIONS})
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	return req
}

func TestInviteCancelAndRetransmission(t *testing.T) {
	ts := startServer(t, Config{}, false)
	release := make(chan struct{})
	var cancelled, invites atomic.Int32
	ts.h.fn = func(req *sip.Request, tx sip.ServerTransaction) {
		switch req.Method {
		case sip.INVITE:
			invites.Add(1)
			tx.OnCancel(func(*sip.Request) { cancelled.Add(1) })
			_ = tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
			select {
			case <-release:
				_ = tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
				<-tx.Done() // wait for the ACK so the non-2xx ACK is absorbed
			case <-tx.Done():
			}
		case sip.CANCEL:
			_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	}
	c := ts.dial(t)
	invite := sample(t, "jssip-invite.sip")

	// INVITE → 180; the same INVITE again is absorbed: 180 resent, handler
	// not called twice.
	send(t, c, invite)
	if r := recvResponse(t, c); r.StatusCode != 180 {
		t.Fatalf("got %d", r.StatusCode)
	}
	send(t, c, invite)
	if r := recvResponse(t, c); r.StatusCode != 180 {
		t.Fatalf("retransmission got %d", r.StatusCode)
	}
	if n := invites.Load(); n != 1 {
		t.Fatalf("handler called %d times for one INVITE", n)
	}

	// CANCEL matches: 200 to the CANCEL, 487 to the INVITE.
	send(t, c, sample(t, "jssip-cancel.sip"))
	got := map[string]int{}
	for range 2 {
		r := recvResponse(t, c)
		got[string(r.CSeq().MethodName)] = r.StatusCode
	}
	if got["CANCEL"] != 200 || got["INVITE"] != 487 {
		t.Fatalf("responses %v", got)
	}
	if cancelled.Load() != 1 {
		t.Fatal("OnCancel not called")
	}
	f := ts.waitFlow(t)
	ack := strings.Replace(string(sample(t, "jssip-cancel.sip")), "CANCEL", "ACK", 2)
	send(t, c, []byte(ack)) // ACK for the 487: absorbed by the INVITE transaction
	waitTxZero(t, f)

	// An unmatched CANCEL reaches the handler, which answers 481.
	send(t, c, withBranch(sample(t, "jssip-cancel.sip"), "z9hG4bK7204567", "z9hG4bKnone"))
	if r := recvResponse(t, c); r.StatusCode != 481 {
		t.Fatalf("unmatched CANCEL got %d", r.StatusCode)
	}

	// A second INVITE ends with 486; its ACK goes to the transaction, not
	// the handler.
	inv2 := withBranch(invite, "z9hG4bK7204567", "z9hG4bK2nd")
	send(t, c, inv2)
	if r := recvResponse(t, c); r.StatusCode != 180 {
		t.Fatalf("got %d", r.StatusCode)
	}
	close(release)
	if r := recvResponse(t, c); r.StatusCode != 486 {
		t.Fatalf("got %d", r.StatusCode)
	}
	before := len(ts.h.requests())
	ack2 := strings.Replace(strings.Replace(string(inv2), "INVITE sip:", "ACK sip:", 1), "8373 INVITE", "8373 ACK", 1)
	send(t, c, []byte(ack2))
	waitTxZero(t, f)
	if after := len(ts.h.requests()); after != before {
		t.Fatalf("ACK for a non-2xx reached the handler")
	}
}

func TestAckFor2xxReachesHandler(t *testing.T) {
	ts := startServer(t, Config{}, false)
	acks := make(chan sip.ServerTransaction, 1)
	ts.h.fn = func(req *sip.Request, tx sip.ServerTransaction) {
		switch req.Method {
		case sip.INVITE:
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		case sip.ACK:
			acks <- tx
		}
	}
	c := ts.dial(t)
	send(t, c, sample(t, "jssip-invite.sip"))
	if r := recvResponse(t, c); r.StatusCode != 200 {
		t.Fatalf("got %d", r.StatusCode)
	}
	ack := strings.Replace(strings.Replace(string(sample(t, "jssip-invite.sip")), "INVITE sip:", "ACK sip:", 1), "8373 INVITE", "8373 ACK", 1)
	send(t, c, withBranch([]byte(ack), "z9hG4bK7204567", "z9hG4bKack"))
	select {
	case tx := <-acks:
		if tx == nil {
			t.Fatal("nil tx for ACK")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ACK for 2xx not delivered")
	}
	waitTxZero(t, ts.waitFlow(t))
}

func TestNoTransactionLeak(t *testing.T) {
	ts := startServer(t, Config{}, false)
	c := ts.dial(t)
	reg := sample(t, "jssip-register.sip")
	for i := range 50 {
		send(t, c, withBranch(reg, "z9hG4bK5584185", fmt.Sprintf("z9hG4bKleak%d", i)))
		if r := recvResponse(t, c); r.StatusCode != 200 {
			t.Fatalf("got %d", r.StatusCode)
		}
	}
	f := ts.waitFlow(t)
	// Client transactions: the client answers every OPTIONS in turn.
	ctx := context.Background()
	for i := range 50 {
		tx, err := f.Request(ctx, newOptions(f, fmt.Sprintf("z9hG4bKo%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		in := recv(t, c).(*sip.Request)
		sendMsg(t, c, sip.NewResponseFromRequest(in, 200, "OK", nil))
		<-tx.Responses()
	}
	waitTxZero(t, f)
	// The last transaction drops its reference as it terminates, which may
	// trail its removal from the table by a moment.
	n := f.Ref(0)
	for end := time.Now().Add(2 * time.Second); n != 0 && time.Now().Before(end); n = f.Ref(0) {
		time.Sleep(5 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("flow references = %d 2s after all transactions ended", n)
	}
}

func TestKeepaliveAndMalformed(t *testing.T) {
	ts := startServer(t, Config{}, false)
	c := ts.dial(t)
	send(t, c, []byte("\r\n\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, b, err := c.Read(ctx); err != nil || string(b) != "\r\n" {
		t.Fatalf("CRLF keepalive answer %q, %v", b, err)
	}
	// Garbage is dropped, a malformed request with its identity headers
	// gets 400, and the flow keeps working.
	send(t, c, []byte("\x00\xffnot sip at all"))
	send(t, c, sample(t, "bad-contact.sip"))
	if r := recvResponse(t, c); r.StatusCode != 400 || r.CallID().Value() != "bad-1" {
		t.Fatalf("got %s", r.Short())
	}
	send(t, c, sample(t, "jssip-register.sip"))
	if r := recvResponse(t, c); r.StatusCode != 200 {
		t.Fatalf("got %d", r.StatusCode)
	}
	ts.log.waitLog(t, "unparsable SIP message dropped")
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		host   string
		hdr    map[string]string
		status int
		log    string
	}{
		{"no subprotocol", Config{}, "", map[string]string{"Sec-WebSocket-Protocol": ""}, http.StatusBadRequest, "subprotocol sip required"},
		{"other subprotocol", Config{}, "", map[string]string{"Sec-WebSocket-Protocol": "chat, xmpp"}, http.StatusBadRequest, "subprotocol sip required"},
		{"forbidden origin", Config{Origins: []string{"*.example.com"}}, "", map[string]string{"Origin": "https://evil.example.net"}, http.StatusForbidden, "origin not allowed"},
		{"bad host", Config{Hosts: []string{"sip.example.com"}}, "other.example.com", nil, http.StatusForbidden, "host not allowed"},
		{"allowed origin", Config{Origins: []string{"*.example.com"}}, "", map[string]string{"Origin": "https://app.example.com"}, http.StatusSwitchingProtocols, "flow opened"},
		{"same-host origin", Config{}, "sip.example.com:8080", map[string]string{"Origin": "https://sip.example.com:8080"}, http.StatusSwitchingProtocols, "flow opened"},
		{"allowed host", Config{Hosts: []string{"sip.example.com"}}, "sip.example.com:443", nil, http.StatusSwitchingProtocols, "flow opened"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg, false)
			if got := ts.upgradeStatus(t, tc.host, tc.hdr); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			ts.log.waitLog(t, tc.log)
		})
	}
}

func TestConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		status int
		log    string
	}{
		{"per address", Config{MaxConns: 10, MaxConnsPerIP: 2}, http.StatusTooManyRequests, "too many connections from this address"},
		{"global", Config{MaxConns: 2, MaxConnsPerIP: 2}, http.StatusServiceUnavailable, "too many connections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.cfg, false)
			c1 := ts.dial(t)
			ts.dial(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, res, err := websocket.Dial(ctx, ts.url, ts.dialOpts())
			if err == nil || res == nil || res.StatusCode != tc.status {
				t.Fatalf("third connection: err %v, response %v", err, res)
			}
			ts.log.waitLog(t, tc.log, fmt.Sprintf("status=%d", tc.status))
			// A slot frees when a flow ends.
			c1.Close(websocket.StatusNormalClosure, "")
			<-ts.h.closed
			ts.dial(t)
		})
	}
}

func TestOversizeMessage(t *testing.T) {
	ts := startServer(t, Config{ReadLimit: 2048}, false)
	c := ts.dial(t)
	big := append(sample(t, "jssip-register.sip"), []byte(strings.Repeat("x", 4096))...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The server closes as soon as it has read the frame header; when that
	// happens before the client has written the whole frame, the client's
	// write meets a reset and its close frame may be lost with it. The
	// server's side (below) is what this test is about.
	if err := c.Write(ctx, websocket.MessageText, big); err == nil {
		_, _, err := c.Read(ctx)
		if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("close status %v (%v), want 1009", code, err)
		}
	}
	<-ts.h.closed
	ts.log.waitLog(t, "flow closed", "code=1009", "message too big")
}

func TestPongTimeoutClosesSilentClient(t *testing.T) {
	ts := startServer(t, Config{PingInterval: 50 * time.Millisecond, PongTimeout: 50 * time.Millisecond, IdleTimeout: time.Minute}, false)
	ts.dial(t) // never reads, so never answers a ping
	select {
	case f := <-ts.h.closed:
		if _, ok := ts.Flow(f.ID()); ok {
			t.Fatal("closed flow still listed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("silent client not closed")
	}
	ts.log.waitLog(t, "pong timeout", "code=1006")
}

func TestPingsKeepResponsiveClientOpen(t *testing.T) {
	ts := startServer(t, Config{PingInterval: 30 * time.Millisecond, PongTimeout: time.Second, IdleTimeout: time.Minute}, false)
	pings := make(chan struct{}, 10)
	opts := ts.dialOpts()
	opts.OnPingReceived = func(context.Context, []byte) bool {
		select {
		case pings <- struct{}{}:
		default:
		}
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.CloseRead(context.Background()) // answers pings
	for i := range 3 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d not received", i)
		}
	}
	if ts.Len() != 1 {
		t.Fatal("responsive client was closed")
	}
}

func TestIdleTimeout(t *testing.T) {
	// Pings off in effect (interval 1h) so that only the idle timeout acts.
	ts := startServer(t, Config{PingInterval: time.Hour, PongTimeout: time.Second, IdleTimeout: 100 * time.Millisecond}, false)
	c := ts.dial(t)
	ctx := c.CloseRead(context.Background())
	select {
	case <-ts.h.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("idle flow not closed")
	}
	<-ctx.Done()
	ts.log.waitLog(t, "idle timeout", "code=1001")
}

func TestFlowClosedOnDisconnect(t *testing.T) {
	ts := startServer(t, Config{}, true)
	c := ts.dial(t)
	f := ts.waitFlow(t)
	c.Close(websocket.StatusNormalClosure, "bye")
	select {
	case g := <-ts.h.closed:
		if g != f {
			t.Fatal("FlowClosed for another flow")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("FlowClosed not called")
	}
	<-f.Done()
	if err := f.WriteMsg(newOptions(f, "z9hG4bKx")); err == nil {
		t.Fatal("write on a closed flow succeeded")
	}
	if _, err := f.Request(context.Background(), newOptions(f, "z9hG4bKy")); err == nil {
		t.Fatal("request on a closed flow succeeded")
	}
	ts.log.waitLog(t, "flow closed by peer", "code=1000")
}

func TestPendingClientTxEndsWithFlow(t *testing.T) {
	ts := startServer(t, Config{}, false)
	c := ts.dial(t)
	f := ts.waitFlow(t)
	tx, err := f.Request(context.Background(), newOptions(f, "z9hG4bKpending"))
	if err != nil {
		t.Fatal(err)
	}
	recv(t, c)
	c.CloseNow()
	select {
	case <-tx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client transaction outlived its flow")
	}
	<-ts.h.closed
	waitTxZero(t, f)
}

func TestServerClose(t *testing.T) {
	ts := startServer(t, Config{}, false)
	for range 3 {
		c := ts.dial(t)
		c.CloseRead(context.Background())
	}
	for ts.Len() < 3 {
		time.Sleep(time.Millisecond)
	}
	if err := ts.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ts.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if ts.Len() != 0 || len(ts.h.closed) != 3 {
		t.Fatalf("after Close: %d flows, %d FlowClosed", ts.Len(), len(ts.h.closed))
	}
	if got := ts.upgradeStatus(t, "", nil); got != http.StatusServiceUnavailable {
		t.Fatalf("upgrade after Close: %d", got)
	}
}

func TestMessageRateClosesFlooder(t *testing.T) {
	const rate = 5 // bursts of 10
	ts := startServer(t, Config{MaxMessageRate: rate}, false)
	c := ts.dial(t)
	reg := string(sample(t, "jssip-register.sip"))
	for i := range 40 {
		// Distinct branches: new requests, not retransmissions.
		msg := strings.Replace(reg, "branch=z9hG4bK", fmt.Sprintf("branch=z9hG4bK%dx", i), 1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Write(ctx, websocket.MessageText, []byte(msg))
		cancel()
		if err != nil {
			break // closed under us: fine, the close code is checked below
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = c.Read(ctx) // the 200s, then the close
	}
	if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
		t.Fatalf("close status %v (%v), want 1008", code, err)
	}
	<-ts.h.closed
	ts.log.waitLog(t, "flow closed", "code=1008", "message rate exceeded")
	// The burst (twice the rate) got through, nothing much beyond it.
	if n := len(ts.h.requests()); n < 2*rate || n > 2*rate+2 {
		t.Fatalf("%d requests reached the handler, want about %d", n, 2*rate)
	}
}
