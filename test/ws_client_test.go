package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// wsUA is a minimal SIP user agent over one WebSocket (RFC 7118), the way
// a browser softphone talks to sipedge: Via SIP/2.0/WSS with a *.invalid
// sent-by, a *.invalid Contact with transport=ws, everything sent on the
// one connection. It writes requests and responses as text and parses what
// arrives with sipgo's parser. Nothing is retransmitted (reliable transport).
type wsUA struct {
	t        *testing.T
	conn     *websocket.Conn
	user     string
	password string
	host     string // our *.invalid host for Via and Contact
	instance string // +sip.instance URN, empty for none
	tag      string
	callID   string // REGISTER Call-ID
	cseq     int    // REGISTER CSeq

	mu      sync.Mutex
	waiters map[string]chan *sip.Response // by Via branch

	reqs chan *sip.Request
	done chan struct{} // closed when the reader stops
	err  error         // why the reader stopped, valid after done
}

// wsDialOpts says how a wsUA connects.
type wsDialOpts struct {
	Pool         *x509.CertPool // trust for wss://
	LocalIP      string         // source address (default 127.0.0.1)
	Origin       string         // Origin header, none when empty
	Subprotocols []string       // default ["sip"]
}

// dialWS opens a WebSocket to url with opts and returns the connection and
// the HTTP response of the handshake (also on failure, when there is one).
func dialWS(ctx context.Context, url string, opts wsDialOpts) (*websocket.Conn, *http.Response, error) {
	ip := opts.LocalIP
	if ip == "" {
		ip = "127.0.0.1"
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext:         d.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: opts.Pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 5 * time.Second,
		DisableKeepAlives:   true,
	}
	protos := opts.Subprotocols
	if protos == nil {
		protos = []string{"sip"}
	}
	h := http.Header{}
	if opts.Origin != "" {
		h.Set("Origin", opts.Origin)
	}
	return websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: tr},
		HTTPHeader:   h,
		Subprotocols: protos,
	})
}

// newWSUA connects user to sipedge's WebSocket endpoint url. The
// connection is closed when the test ends.
func newWSUA(t *testing.T, url, user, password string, opts wsDialOpts) *wsUA {
	t.Helper()
	ctx := withTimeout(t, 5*time.Second)
	conn, res, err := dialWS(ctx, url, opts)
	if err != nil {
		code := 0
		if res != nil {
			code = res.StatusCode
		}
		t.Fatalf("dial %s: HTTP %d: %v", url, code, err)
	}
	if conn.Subprotocol() != "sip" {
		t.Fatalf("dial %s: subprotocol %q, want sip", url, conn.Subprotocol())
	}
	conn.SetReadLimit(1 << 20)
	u := &wsUA{
		t: t, conn: conn, user: user, password: password,
		host:    randHex(6) + ".invalid",
		tag:     randHex(5),
		callID:  randHex(8),
		waiters: map[string]chan *sip.Response{},
		reqs:    make(chan *sip.Request, 32),
		done:    make(chan struct{}),
	}
	go u.readLoop() // owner: u; stops when the connection ends (Close, or t.Cleanup below)
	t.Cleanup(func() {
		u.conn.CloseNow()
		<-u.done
	})
	return u
}

// readLoop parses every message: responses go to the transaction waiting on
// their Via branch, requests to reqs.
func (u *wsUA) readLoop() {
	defer close(u.done)
	for {
		_, data, err := u.conn.Read(context.Background())
		if err != nil {
			u.err = err
			return
		}
		if len(strings.TrimSpace(string(data))) == 0 {
			continue // CRLF keepalive
		}
		msg, err := sip.ParseMessage(data)
		if err != nil {
			u.t.Errorf("%s: unparsable message from sipedge: %v\n%s", u.user, err, data)
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			branch := ""
			if v := m.Via(); v != nil {
				branch, _ = v.Params.Get("branch")
			}
			u.mu.Lock()
			ch := u.waiters[branch]
			u.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
					u.t.Errorf("%s: response queue full, dropped %d", u.user, m.StatusCode)
				}
			}
		case *sip.Request:
			select {
			case u.reqs <- m:
			default:
				u.t.Errorf("%s: request queue full, dropped %s", u.user, m.Method)
			}
		}
	}
}

// Close closes the WebSocket with code 1000 and waits for the reader.
func (u *wsUA) Close() {
	_ = u.conn.Close(websocket.StatusNormalClosure, "bye")
	<-u.done
}

// send writes one SIP message as a text frame.
func (u *wsUA) send(msg string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := u.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		u.t.Fatalf("%s: write: %v", u.user, err)
	}
}

// via returns a Via header line with a new branch, and the branch.
func (u *wsUA) via() (string, string) {
	branch := "z9hG4bK" + randHex(8)
	return fmt.Sprintf("Via: SIP/2.0/WSS %s;branch=%s", u.host, branch), branch
}

// contact is our Contact URI (with instance parameters for REGISTER).
func (u *wsUA) contact() string {
	return fmt.Sprintf("sip:%s@%s;transport=ws", u.user, u.host)
}

// transact sends a request built by build (given the Via line) and returns
// every response up to and including the final one.
func (u *wsUA) transact(build func(via string) string) []*sip.Response {
	u.t.Helper()
	via, branch := u.via()
	ch := make(chan *sip.Response, 16)
	u.mu.Lock()
	u.waiters[branch] = ch
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		delete(u.waiters, branch)
		u.mu.Unlock()
	}()
	msg := build(via)
	u.send(msg)
	var got []*sip.Response
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-ch:
			got = append(got, r)
			if r.StatusCode >= 200 {
				return got
			}
		case <-u.done:
			u.t.Fatalf("%s: connection ended waiting for an answer (%v) to:\n%s", u.user, u.err, msg)
		case <-timeout:
			u.t.Fatalf("%s: no final response in 10s to:\n%s", u.user, msg)
		}
	}
}

// registerMsg builds a REGISTER; contact "" queries, "*" is a wildcard.
func (u *wsUA) registerMsg(via, contact, authorization string, expires int) string {
	u.cseq++
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:example.test SIP/2.0\r\n%s\r\n", via)
	fmt.Fprintf(&b, "From: <sip:%s@example.test>;tag=%s\r\nTo: <sip:%s@example.test>\r\n", u.user, u.tag, u.user)
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d REGISTER\r\nMax-Forwards: 70\r\n", u.callID, u.cseq)
	if contact != "" {
		fmt.Fprintf(&b, "Contact: %s\r\n", contact)
		if expires >= 0 {
			fmt.Fprintf(&b, "Expires: %d\r\n", expires)
		}
	}
	if authorization != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authorization)
	}
	b.WriteString("Supported: path, outbound, gruu\r\nUser-Agent: sipedge-test-wsua\r\nContent-Length: 0\r\n\r\n")
	return b.String()
}

// doRegister runs REGISTER with the 401 challenge round and returns the
// final response after credentials.
func (u *wsUA) doRegister(contact string, expires int) *sip.Response {
	u.t.Helper()
	rs := u.transact(func(via string) string { return u.registerMsg(via, contact, "", expires) })
	res := rs[len(rs)-1]
	if res.StatusCode != 401 {
		u.t.Fatalf("%s: REGISTER without credentials: %d %s, want 401", u.user, res.StatusCode, res.Reason)
	}
	ch := challenge(u.t, res, "MD5")
	cred, err := digest.Digest(ch, digest.Options{Method: "REGISTER", URI: "sip:example.test", Username: u.user, Password: u.password, Count: 1})
	if err != nil {
		u.t.Fatal(err)
	}
	rs = u.transact(func(via string) string { return u.registerMsg(via, contact, cred.String(), expires) })
	return rs[len(rs)-1]
}

// Register binds our Contact (with +sip.instance and reg-id when the UA
// has an instance) and fails the test unless the answer is 200.
func (u *wsUA) Register() *sip.Response {
	u.t.Helper()
	c := "<" + u.contact() + ">"
	if u.instance != "" {
		c += fmt.Sprintf(";+sip.instance=\"<%s>\";reg-id=1", u.instance)
	}
	res := u.doRegister(c, 300)
	if res.StatusCode != 200 {
		u.t.Fatalf("%s: REGISTER: %d %s, want 200", u.user, res.StatusCode, res.Reason)
	}
	return res
}

// Bindings queries the registrar (REGISTER without Contact) and returns the
// Contact header values of the 200.
func (u *wsUA) Bindings() []string {
	u.t.Helper()
	res := u.doRegister("", -1)
	if res.StatusCode != 200 {
		u.t.Fatalf("%s: REGISTER query: %d %s, want 200", u.user, res.StatusCode, res.Reason)
	}
	var out []string
	for _, h := range res.GetHeaders("Contact") {
		out = append(out, splitContacts(h.Value())...)
	}
	return out
}

// splitContacts splits a Contact header value at commas outside <> and quotes.
func splitContacts(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i, c := range v {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(v[start:i]))
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// wsDialog is the state of one call leg of a wsUA.
type wsDialog struct {
	u            *wsUA
	callID       string
	localURI     string // From (ours)
	remoteURI    string // To (theirs)
	localTag     string
	remoteTag    string
	remoteTarget string   // their Contact URI
	routes       []string // route set, in the order to send
	cseq         int
	invite       *sip.Request // the INVITE we received (UAS side)
	challenged   bool         // the INVITE got a 407 first (UAC side)
}

// testSDP is a fixed offer/answer; sipedge has no rtpengine in these tests.
const testSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7078 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// Call sends INVITE to ruri (answering a 407 with credentials), waits for
// the 200 and ACKs it. It returns the established dialog.
func (u *wsUA) Call(ruri string) *wsDialog {
	u.t.Helper()
	d := &wsDialog{u: u, callID: randHex(10) + "@" + u.host, localURI: fmt.Sprintf("sip:%s@example.test", u.user), remoteURI: ruri, localTag: randHex(5)}
	build := func(auth string) func(via string) string {
		d.cseq++
		cseq := d.cseq
		return func(via string) string {
			var b strings.Builder
			fmt.Fprintf(&b, "INVITE %s SIP/2.0\r\n%s\r\n", ruri, via)
			fmt.Fprintf(&b, "From: <%s>;tag=%s\r\nTo: <%s>\r\n", d.localURI, d.localTag, ruri)
			fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d INVITE\r\nMax-Forwards: 70\r\n", d.callID, cseq)
			fmt.Fprintf(&b, "Contact: <%s;ob>\r\n", u.contact())
			if auth != "" {
				fmt.Fprintf(&b, "Proxy-Authorization: %s\r\n", auth)
			}
			fmt.Fprintf(&b, "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(testSDP), testSDP)
			return b.String()
		}
	}
	rs := u.transact(build(""))
	res := rs[len(rs)-1]
	if res.StatusCode == 407 {
		d.challenged = true
		u.ackNon2xx(d, ruri, res)
		var chal *digest.Challenge
		for _, h := range res.GetHeaders("Proxy-Authenticate") {
			if c, err := digest.ParseChallenge(h.Value()); err == nil && (c.Algorithm == "" || strings.EqualFold(c.Algorithm, "MD5")) {
				chal = c
				break
			}
		}
		if chal == nil {
			u.t.Fatalf("%s: 407 without an MD5 Proxy-Authenticate", u.user)
		}
		cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: ruri, Username: u.user, Password: u.password, Count: 1})
		if err != nil {
			u.t.Fatal(err)
		}
		rs = u.transact(build(cred.String()))
		res = rs[len(rs)-1]
	}
	if res.StatusCode != 200 {
		u.t.Fatalf("%s: INVITE %s: %d %s, want 200", u.user, ruri, res.StatusCode, res.Reason)
	}
	d.remoteTag, _ = res.To().Params.Get("tag")
	if c := res.Contact(); c != nil {
		d.remoteTarget = c.Address.String()
	} else {
		u.t.Fatalf("%s: 200 without Contact", u.user)
	}
	rr := res.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- { // UAC: reverse order
		d.routes = append(d.routes, rr[i].Value())
	}
	if len(d.routes) == 0 {
		u.t.Errorf("%s: 200 OK for INVITE carries no Record-Route", u.user)
	}
	d.ack()
	return d
}

// ackNon2xx ACKs a failure response in its INVITE transaction (same branch).
func (u *wsUA) ackNon2xx(d *wsDialog, ruri string, res *sip.Response) {
	u.t.Helper()
	v := res.Via()
	var b strings.Builder
	fmt.Fprintf(&b, "ACK %s SIP/2.0\r\nVia: %s\r\n", ruri, v.Value())
	fmt.Fprintf(&b, "From: <%s>;tag=%s\r\nTo: %s\r\n", d.localURI, d.localTag, res.To().Value())
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", d.callID, res.CSeq().SeqNo)
	u.send(b.String())
}

// inDialog builds an in-dialog request with the given Via and CSeq.
func (d *wsDialog) inDialog(method, via string, cseq int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n%s\r\n", method, d.remoteTarget, via)
	for _, r := range d.routes {
		fmt.Fprintf(&b, "Route: %s\r\n", r)
	}
	fmt.Fprintf(&b, "From: <%s>;tag=%s\r\nTo: <%s>", d.localURI, d.localTag, d.remoteURI)
	if d.remoteTag != "" {
		fmt.Fprintf(&b, ";tag=%s", d.remoteTag)
	}
	fmt.Fprintf(&b, "\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", d.callID, cseq, method)
	return b.String()
}

// ack sends the ACK for the 2xx (its own transaction, no answer).
func (d *wsDialog) ack() {
	via, _ := d.u.via()
	d.u.send(d.inDialog("ACK", via, d.cseq))
}

// Bye sends BYE in the dialog and fails the test unless it gets 200.
func (d *wsDialog) Bye() {
	d.u.t.Helper()
	d.cseq++
	cseq := d.cseq
	rs := d.u.transact(func(via string) string { return d.inDialog("BYE", via, cseq) })
	if res := rs[len(rs)-1]; res.StatusCode != 200 {
		d.u.t.Fatalf("%s: BYE: %d %s, want 200", d.u.user, res.StatusCode, res.Reason)
	}
}

// nextRequest returns the next request that arrives, or fails the test.
func (u *wsUA) nextRequest(within time.Duration) *sip.Request {
	u.t.Helper()
	select {
	case r := <-u.reqs:
		return r
	case <-u.done:
		u.t.Fatalf("%s: connection ended waiting for a request: %v", u.user, u.err)
	case <-time.After(within):
		u.t.Fatalf("%s: no request within %v", u.user, within)
	}
	return nil
}

// WaitBye waits for a BYE in d and answers 200.
func (d *wsDialog) WaitBye() {
	d.u.t.Helper()
	for range 10 {
		r := d.u.nextRequest(10 * time.Second)
		if r.Method == sip.BYE && r.CallID().Value() == d.callID {
			d.u.respond(r, 200, "OK", "", "")
			return
		}
		d.u.t.Logf("%s: ignoring %s while waiting for BYE", d.u.user, r.Method)
	}
	d.u.t.Fatalf("%s: no BYE for %s", d.u.user, d.callID)
}

// respond answers req; toTag and body are optional.
func (u *wsUA) respond(req *sip.Request, code int, reason, toTag, body string) {
	u.t.Helper()
	contact := ""
	if req.Method == sip.INVITE && code >= 180 && code < 300 {
		contact = u.contact()
	}
	u.send(sipResponse(req, code, reason, toTag, contact, body))
}

// Answer waits for an INVITE, rings, answers 200 with SDP and waits for
// the ACK. It returns the dialog (we are the callee).
func (u *wsUA) Answer(within time.Duration) *wsDialog {
	u.t.Helper()
	d := u.answer200(within)
	d.waitAck(within)
	return d
}

// answer200 waits for an INVITE, rings and answers 200 with SDP (the ACK
// is waitAck's). It returns the dialog (we are the callee).
func (u *wsUA) answer200(within time.Duration) *wsDialog {
	u.t.Helper()
	var inv *sip.Request
	for range 10 {
		r := u.nextRequest(within)
		if r.Method == sip.INVITE {
			inv = r
			break
		}
		u.t.Logf("%s: ignoring %s while waiting for INVITE", u.user, r.Method)
	}
	if inv == nil {
		u.t.Fatalf("%s: no INVITE", u.user)
	}
	tag := randHex(5)
	u.respond(inv, 180, "Ringing", tag, "")
	u.respond(inv, 200, "OK", tag, testSDP)
	d := &wsDialog{u: u, callID: inv.CallID().Value(), localURI: inv.To().Address.String(), remoteURI: inv.From().Address.String(), localTag: tag, invite: inv}
	d.remoteTag, _ = inv.From().Params.Get("tag")
	if c := inv.Contact(); c != nil {
		d.remoteTarget = c.Address.String()
	}
	for _, rr := range inv.GetHeaders("Record-Route") { // UAS: same order
		d.routes = append(d.routes, rr.Value())
	}
	return d
}

// waitAck waits for the ACK of the 200 answer200 sent, answering
// retransmissions of the INVITE again.
func (d *wsDialog) waitAck(within time.Duration) {
	u := d.u
	u.t.Helper()
	for range 10 {
		r := u.nextRequest(within)
		if r.Method == sip.ACK && r.CallID().Value() == d.callID {
			return
		}
		if r.Method == sip.INVITE { // a retransmission while we were answering
			u.respond(r, 200, "OK", d.localTag, testSDP)
			continue
		}
		u.t.Logf("%s: ignoring %s while waiting for ACK", u.user, r.Method)
	}
	u.t.Fatalf("%s: no ACK for the 200", u.user)
}
