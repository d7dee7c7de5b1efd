package wsua_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/sipedge/sipedge/test/wsua"
)

// wsServer is a scripted SIP-over-WebSocket peer: the test reads what the
// UA sent and writes answers by hand.
type wsServer struct {
	t     *testing.T
	url   string
	conns chan *websocket.Conn
	conn  *websocket.Conn
}

func newWSServer(t *testing.T, subprotocols ...string) *wsServer {
	t.Helper()
	s := &wsServer{t: t, conns: make(chan *websocket.Conn, 1)}
	// A hijacked connection's request context never ends and httptest
	// does not wait for its handler: the test's end is the handler's
	// stop signal, and the cleanup waits for it.
	done := make(chan struct{})
	var handlers sync.WaitGroup
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Done()
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols})
		if err != nil {
			return
		}
		defer c.CloseNow()
		select {
		case s.conns <- c:
		case <-done:
			return
		}
		<-done // keep the handler (and conn) until the test ends
	}))
	t.Cleanup(func() {
		close(done)
		hs.Close()
		handlers.Wait()
	})
	s.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	return s
}

func (s *wsServer) accept(ctx context.Context) {
	s.t.Helper()
	select {
	case s.conn = <-s.conns:
		s.t.Cleanup(func() { s.conn.CloseNow() })
	case <-ctx.Done():
		s.t.Fatal("no WebSocket connection")
	}
}

func (s *wsServer) read(ctx context.Context) sip.Message {
	s.t.Helper()
	_, data, err := s.conn.Read(ctx)
	if err != nil {
		s.t.Fatalf("server read: %v", err)
	}
	m, err := sip.NewParser().ParseSIP(data)
	if err != nil {
		s.t.Fatalf("UA sent an unparsable message: %v\n%s", err, data)
	}
	return m
}

func (s *wsServer) readRequest(ctx context.Context, method sip.RequestMethod) *sip.Request {
	s.t.Helper()
	m := s.read(ctx)
	req, ok := m.(*sip.Request)
	if !ok || req.Method != method {
		s.t.Fatalf("want %s, got:\n%s", method, m)
	}
	return req
}

func (s *wsServer) readResponse(ctx context.Context, code int) *sip.Response {
	s.t.Helper()
	m := s.read(ctx)
	res, ok := m.(*sip.Response)
	if !ok || res.StatusCode != code {
		s.t.Fatalf("want %d, got:\n%s", code, m)
	}
	return res
}

func (s *wsServer) write(ctx context.Context, m sip.Message) {
	s.t.Helper()
	if err := s.conn.Write(ctx, websocket.MessageText, []byte(m.String())); err != nil {
		s.t.Fatalf("server write: %v", err)
	}
}

func (s *wsServer) respond(ctx context.Context, req *sip.Request, code int, reason string, body string, hdrs ...sip.Header) {
	s.t.Helper()
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	res.SetBody([]byte(body))
	s.write(ctx, res)
}

// drain reads (and drops) everything until the connection closes, so the
// UA's close handshake gets its answer; the goroutine ends with the conn.
func (s *wsServer) drain() chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := s.conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return done
}

func branchOf(m interface{ Via() *sip.ViaHeader }) string {
	b, _ := m.Via().Params.Get("branch")
	return b
}

// checkCredentials recomputes the digest response the UA sent.
func checkCredentials(t *testing.T, value string, ch *digest.Challenge, method, password string) {
	t.Helper()
	cred, err := digest.ParseCredentials(value)
	if err != nil {
		t.Fatalf("credentials %q: %v", value, err)
	}
	want, err := digest.Digest(ch, digest.Options{Method: method, URI: cred.URI, Username: cred.Username, Password: password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil {
		t.Fatal(err)
	}
	if cred.Response != want.Response {
		t.Errorf("digest response %s, want %s", cred.Response, want.Response)
	}
}

const challengeValue = `Digest realm="example.test", nonce="n0nce", qop="auth", algorithm=MD5`

func TestUA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := newWSServer(t, "sip")
	ua, err := wsua.Dial(ctx, wsua.Config{URL: srv.url, User: "alice", Domain: "example.test", Password: "secret",
		Answer: func(offer string) (string, error) { return "answer-to:" + offer, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	srv.accept(ctx)
	ch, _ := digest.ParseChallenge(challengeValue)

	// REGISTER, 401, REGISTER with credentials, 200.
	regErr := make(chan error, 1)
	go func() { _, err := ua.Register(ctx, 300); regErr <- err }()
	r1 := srv.readRequest(ctx, sip.REGISTER)
	via := r1.Via()
	if via.Transport != "WS" || !strings.HasSuffix(via.Host, ".invalid") || !via.Params.Has("rport") {
		t.Errorf("Via %q: want SIP/2.0/WS <x>.invalid;rport", via.Value())
	}
	ct := r1.GetHeader("Contact").Value()
	for _, want := range []string{"transport=ws", `+sip.instance="<urn:uuid:`, "reg-id=1", ".invalid"} {
		if !strings.Contains(ct, want) {
			t.Errorf("REGISTER Contact %q lacks %q", ct, want)
		}
	}
	srv.respond(ctx, r1, 401, "Unauthorized", "", sip.NewHeader("WWW-Authenticate", challengeValue))
	r2 := srv.readRequest(ctx, sip.REGISTER)
	if r2.CallID().Value() != r1.CallID().Value() || r2.CSeq().SeqNo != r1.CSeq().SeqNo+1 {
		t.Errorf("second REGISTER: Call-ID/CSeq %s %d, want same Call-ID, CSeq %d", r2.CallID().Value(), r2.CSeq().SeqNo, r1.CSeq().SeqNo+1)
	}
	checkCredentials(t, r2.GetHeader("Authorization").Value(), ch, "REGISTER", "secret")
	srv.respond(ctx, r2, 200, "OK", "")
	if err := <-regErr; err != nil {
		t.Fatalf("Register: %v", err)
	}

	// INVITE, 407 (+ACK), INVITE with CSeq+1, 100, 180, 200, ACK along the route set.
	type result struct {
		c   *wsua.Call
		err error
	}
	inv := make(chan result, 1)
	go func() { c, err := ua.Invite(ctx, "sip:1000@example.test", "offer-sdp"); inv <- result{c, err} }()
	i1 := srv.readRequest(ctx, sip.INVITE)
	srv.respond(ctx, i1, 407, "Proxy Authentication Required", "", sip.NewHeader("Proxy-Authenticate", challengeValue))
	a1 := srv.readRequest(ctx, sip.ACK)
	if branchOf(a1) != branchOf(i1) || a1.CSeq().SeqNo != i1.CSeq().SeqNo {
		t.Errorf("ACK of 407: branch/CSeq %s %d, want %s %d", branchOf(a1), a1.CSeq().SeqNo, branchOf(i1), i1.CSeq().SeqNo)
	}
	i2 := srv.readRequest(ctx, sip.INVITE)
	if i2.CSeq().SeqNo != i1.CSeq().SeqNo+1 || i2.CallID().Value() != i1.CallID().Value() || branchOf(i2) == branchOf(i1) || string(i2.Body()) != "offer-sdp" {
		t.Errorf("re-sent INVITE: CSeq %d (want %d), same Call-ID, new branch, body %q", i2.CSeq().SeqNo, i1.CSeq().SeqNo+1, i2.Body())
	}
	checkCredentials(t, i2.GetHeader("Proxy-Authorization").Value(), ch, "INVITE", "secret")
	srv.respond(ctx, i2, 100, "Trying", "")
	ok := sip.NewResponseFromRequest(i2, 200, "OK", nil)
	ok.To().Params.Add("tag", "bobtag")
	ringing := sip.NewResponseFromRequest(i2, 180, "Ringing", nil)
	ringing.To().Params.Add("tag", "bobtag")
	srv.write(ctx, ringing)
	ok.AppendHeader(sip.NewHeader("Record-Route", "<sip:p1.test;lr>"))
	ok.AppendHeader(sip.NewHeader("Record-Route", "<sip:p2.test;lr>"))
	ok.AppendHeader(sip.NewHeader("Contact", "<sip:bob@127.0.0.1:5070>"))
	ok.SetBody([]byte("answer-sdp"))
	srv.write(ctx, ok)
	ack := srv.readRequest(ctx, sip.ACK)
	routes := ack.GetHeaders("Route")
	if ack.Recipient.String() != "sip:bob@127.0.0.1:5070" || len(routes) != 2 || routes[0].Value() != "<sip:p2.test;lr>" || routes[1].Value() != "<sip:p1.test;lr>" {
		t.Errorf("ACK of 2xx: %s with routes %v; want sip:bob@127.0.0.1:5070 via p2 then p1", ack.Recipient.String(), routes)
	}
	if tag, _ := ack.To().Params.Get("tag"); tag != "bobtag" || ack.CSeq().SeqNo != i2.CSeq().SeqNo {
		t.Errorf("ACK To tag %q CSeq %d", tag, ack.CSeq().SeqNo)
	}
	res := <-inv
	if res.err != nil {
		t.Fatalf("Invite: %v", res.err)
	}
	call := res.c
	if call.RemoteSDP != "answer-sdp" || len(call.Provisional) != 2 || call.Provisional[1] != 180 {
		t.Errorf("call: remote SDP %q, provisional %v", call.RemoteSDP, call.Provisional)
	}

	// BYE from the UA.
	byeErr := make(chan error, 1)
	go func() { byeErr <- call.Bye(ctx) }()
	bye := srv.readRequest(ctx, sip.BYE)
	if bye.CSeq().SeqNo <= i2.CSeq().SeqNo || len(bye.GetHeaders("Route")) != 2 {
		t.Errorf("BYE CSeq %d routes %d", bye.CSeq().SeqNo, len(bye.GetHeaders("Route")))
	}
	srv.respond(ctx, bye, 200, "OK", "")
	if err := <-byeErr; err != nil {
		t.Fatalf("Bye: %v", err)
	}

	// Incoming INVITE: 180, 200 with the callback's answer, ACK, BYE from the server.
	in := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "x", Host: "y.invalid"})
	in.AppendHeader(sip.NewHeader("Via", "SIP/2.0/WS gw.test;branch=z9hG4bKgw1;rport"))
	in.AppendHeader(sip.NewHeader("Record-Route", "<sip:gw.test;transport=ws;lr>"))
	in.AppendHeader(sip.NewHeader("From", "<sip:carol@example.test>;tag=caroltag"))
	in.AppendHeader(sip.NewHeader("To", "<sip:alice@example.test>"))
	in.AppendHeader(sip.NewHeader("Call-ID", "incoming-1"))
	in.AppendHeader(sip.NewHeader("CSeq", "7 INVITE"))
	in.AppendHeader(sip.NewHeader("Contact", "<sip:carol@127.0.0.1:5080>"))
	in.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	in.SetBody([]byte("carol-offer"))
	srv.write(ctx, in)
	ring := srv.readResponse(ctx, 180)
	final := srv.readResponse(ctx, 200)
	t1, _ := ring.To().Params.Get("tag")
	t2, _ := final.To().Params.Get("tag")
	if t1 == "" || t1 != t2 || string(final.Body()) != "answer-to:carol-offer" || final.GetHeader("Record-Route") == nil || final.Contact() == nil {
		t.Errorf("answer: tags %q/%q body %q, Record-Route and Contact present?\n%s", t1, t2, final.Body(), final)
	}
	srv.write(ctx, mustParse(t, "ACK sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS gw.test;branch=z9hG4bKgw2\r\nFrom: <sip:carol@example.test>;tag=caroltag\r\nTo: <sip:alice@example.test>;tag="+t2+"\r\nCall-ID: incoming-1\r\nCSeq: 7 ACK\r\nContent-Length: 0\r\n\r\n"))
	got, err := ua.WaitCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.WaitAck(ctx); err != nil {
		t.Fatal(err)
	}
	if got.Outgoing || got.RemoteSDP != "carol-offer" || len(got.RouteSet) != 1 || got.Target != "sip:carol@127.0.0.1:5080" {
		t.Errorf("incoming call %+v", got)
	}
	// A re-INVITE without Config.Reanswer gets the previous answer.
	srv.write(ctx, mustParse(t, "INVITE sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS gw.test;branch=z9hG4bKgw4\r\nFrom: <sip:carol@example.test>;tag=caroltag\r\nTo: <sip:alice@example.test>;tag="+t2+"\r\nCall-ID: incoming-1\r\nCSeq: 8 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 13\r\n\r\ncarol-reoffer"))
	if re := srv.readResponse(ctx, 200); string(re.Body()) != "answer-to:carol-offer" {
		t.Errorf("re-INVITE answer %q, want the previous answer", re.Body())
	}
	if o, a, n := got.Reoffers(), got.Reanswers(), got.Reinvites(); len(o) != 1 || o[0] != "carol-reoffer" || len(a) != 1 || a[0] != "answer-to:carol-offer" || n != 1 {
		t.Errorf("re-offers %q re-answers %q count %d", o, a, n)
	}
	// An in-dialog INFO from the UA follows the route set.
	infoRes := make(chan *sip.Response, 1)
	go func() {
		res, err := got.Request(ctx, sip.INFO, "application/dtmf-relay", []byte("Signal=1\r\nDuration=100\r\n"))
		if err != nil {
			t.Errorf("INFO: %v", err)
		}
		infoRes <- res
	}()
	info := srv.readRequest(ctx, sip.INFO)
	if info.Route() == nil || info.GetHeader("Content-Type").Value() != "application/dtmf-relay" || !strings.HasPrefix(string(info.Body()), "Signal=1") || info.Recipient.String() != "sip:carol@127.0.0.1:5080" {
		t.Errorf("INFO as sent:\n%s", info)
	}
	srv.respond(ctx, info, 200, "OK", "")
	if res := <-infoRes; res == nil || res.StatusCode != 200 {
		t.Errorf("INFO response %v", res)
	}
	// A re-INVITE from the UA (hold): along the route set with its offer
	// and Contact, the 200 ACKed with the re-INVITE's CSeq.
	reRes := make(chan *sip.Response, 1)
	go func() {
		res, err := got.Reinvite(ctx, "hold-offer")
		if err != nil {
			t.Errorf("Reinvite: %v", err)
		}
		reRes <- res
	}()
	ri := srv.readRequest(ctx, sip.INVITE)
	if ri.Route() == nil || string(ri.Body()) != "hold-offer" || ri.Contact() == nil || ri.CSeq().SeqNo <= info.CSeq().SeqNo || ri.Recipient.String() != "sip:carol@127.0.0.1:5080" {
		t.Errorf("re-INVITE as sent:\n%s", ri)
	}
	srv.respond(ctx, ri, 200, "OK", "hold-answer")
	ra := srv.readRequest(ctx, sip.ACK)
	if ra.CSeq().SeqNo != ri.CSeq().SeqNo || ra.Route() == nil || branchOf(ra) == branchOf(ri) {
		t.Errorf("ACK of the re-INVITE's 200:\n%s", ra)
	}
	if res := <-reRes; res == nil || res.StatusCode != 200 || string(res.Body()) != "hold-answer" {
		t.Errorf("re-INVITE response %v", res)
	}
	srv.write(ctx, mustParse(t, "BYE sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS gw.test;branch=z9hG4bKgw3\r\nFrom: <sip:carol@example.test>;tag=caroltag\r\nTo: <sip:alice@example.test>;tag="+t2+"\r\nCall-ID: incoming-1\r\nCSeq: 9 BYE\r\nContent-Length: 0\r\n\r\n"))
	srv.readResponse(ctx, 200)
	if reason, err := got.WaitEnded(ctx); err != nil || reason != wsua.EndByeReceived {
		t.Errorf("incoming call ended %q %v", reason, err)
	}

	// The server goes away: the UA notices.
	srv.conn.CloseNow()
	select {
	case <-ua.Done():
	case <-ctx.Done():
		t.Fatal("UA did not notice the closed connection")
	}
	if _, err := ua.Register(ctx, 300); !errors.Is(err, wsua.ErrClosed) {
		t.Errorf("Register after close: %v, want ErrClosed", err)
	}
	if err := ua.Close(); err != nil {
		t.Error(err)
	}
	_ = ua.Close() // idempotent
}

func mustParse(t *testing.T, s string) sip.Message {
	t.Helper()
	m, err := sip.NewParser().ParseSIP([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUAFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	t.Run("no sip subprotocol", func(t *testing.T) {
		srv := newWSServer(t) // selects none
		if _, err := wsua.Dial(ctx, wsua.Config{URL: srv.url}); err == nil {
			t.Fatal("Dial succeeded without subprotocol sip")
		}
	})
	t.Run("bad scheme", func(t *testing.T) {
		if _, err := wsua.Dial(ctx, wsua.Config{URL: "http://127.0.0.1:1/"}); err == nil {
			t.Fatal("Dial accepted http://")
		}
	})
	t.Run("register rejected and invite refused", func(t *testing.T) {
		srv := newWSServer(t, "sip")
		ua, err := wsua.Dial(ctx, wsua.Config{URL: srv.url, User: "alice", Domain: "example.test"})
		if err != nil {
			t.Fatal(err)
		}
		defer ua.Close()
		srv.accept(ctx)
		errc := make(chan error, 1)
		go func() { _, err := ua.Register(ctx, 60); errc <- err }()
		srv.respond(ctx, srv.readRequest(ctx, sip.REGISTER), 403, "Forbidden", "")
		var se *wsua.StatusError
		if err := <-errc; !errors.As(err, &se) || se.Code != 403 {
			t.Errorf("Register: %v, want StatusError 403", err)
		}
		go func() { _, err := ua.Invite(ctx, "sip:1000@example.test", "o"); errc <- err }()
		srv.respond(ctx, srv.readRequest(ctx, sip.INVITE), 486, "Busy Here", "")
		srv.readRequest(ctx, sip.ACK)
		if err := <-errc; !errors.As(err, &se) || se.Code != 486 {
			t.Errorf("Invite: %v, want StatusError 486", err)
		}
		// An incoming INVITE without an Answer callback is refused with 488.
		srv.write(ctx, mustParse(t, "INVITE sip:x@y.invalid SIP/2.0\r\nVia: SIP/2.0/WS gw.test;branch=z9hG4bKgw9\r\nFrom: <sip:c@example.test>;tag=c\r\nTo: <sip:alice@example.test>\r\nCall-ID: in-2\r\nCSeq: 1 INVITE\r\nContact: <sip:c@127.0.0.1:5080>\r\nContent-Length: 1\r\n\r\nx"))
		srv.readResponse(ctx, 180)
		srv.readResponse(ctx, 488)
		drained := srv.drain()
		if err := ua.Close(); err != nil {
			t.Error(err)
		}
		<-drained
	})
}
