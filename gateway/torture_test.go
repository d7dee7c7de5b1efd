package gateway

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// tortureOutcome is what the proxy must do with one RFC 4475 message:
// answer code itself (fwd false), forward it to the sink and relay the
// sink's answer code (fwd true), or drop it (code 0).
type tortureOutcome struct {
	code int
	fwd  bool
	why  string // RFC 4475 §3, one line
}

// tortureWant is the table of outcomes for a proxy serving example.com,
// trusting 127.0.0.0/8 (no digest challenge for INVITE, OPTIONS, MESSAGE:
// this is about parsing), routing everything else to the sink. The sink
// answers INVITE 486 and the rest 200.
var tortureWant = map[string]tortureOutcome{ //nolint:gochecknoglobals // test table
	"wsinv":      {486, true, "3.1.1.1 well formed: forward (folding unfolded, unknown headers kept)"},
	"intmeth":    {200, true, "3.1.1.2 a proxy forwards a URI it knows; the method as written"},
	"esc01":      {486, true, "3.1.1.3 well formed: forward"},
	"escnull":    {401, false, "3.1.1.4 well formed REGISTER: the registrar challenges"},
	"esc02":      {200, true, "3.1.1.5 unknown method: a proxy forwards it"},
	"lwsdisp":    {200, true, "3.1.1.6 accept as well formed: forward"},
	"longreq":    {486, true, "3.1.1.7 well formed: forward"},
	"dblreq":     {401, false, "3.1.1.8 REGISTER handled, trailing INVITE octets ignored"},
	"semiuri":    {200, true, "3.1.1.9 well formed: forward"},
	"transports": {200, true, "3.1.1.10 well formed: forward, answer on the top Via"},
	"mpart01":    {200, true, "3.1.1.11 multipart body framed by Content-Length: forward it whole"},
	"unreason":   {0, false, "3.1.1.12 a response for no transaction of ours: drop"},
	"noreason":   {0, false, "3.1.1.13 a response for no transaction of ours: drop"},
	"badinv01":   {400, false, "3.1.2.1 empty Via/Contact params: 400"},
	"clerr":      {400, false, "3.1.2.2 Content-Length beyond the datagram: 400"},
	"ncl":        {400, false, "3.1.2.3 negative Content-Length: error (400)"},
	"scalar02":   {400, false, "3.1.2.4 CSeq beyond 2**31: 400"},
	"scalarlg":   {0, false, "3.1.2.5 response with overlarge scalars: discard"},
	"quotbal":    {400, false, "3.1.2.6 unterminated quote: 400"},
	"ltgtruri":   {400, false, "3.1.2.7 Request-URI in <>: reject"},
	"lwsruri":    {400, false, "3.1.2.8 LWS in the Request-URI: 400"},
	"lwsstart":   {400, false, "3.1.2.9 several SPs in the Request-Line: reject"},
	"trws":       {400, false, "3.1.2.10 SP after SIP-Version: reject"},
	"escruri":    {400, false, "3.1.2.11 escaped headers in the Request-URI: 400"},
	"baddate":    {486, true, "3.1.2.12 non-GMT Date, unused by a proxy: forward untouched"},
	"regbadct":   {400, false, "3.1.2.13 Contact URI with headers not in <>: 400"},
	"badaspec":   {400, false, "3.1.2.14 spaces in addr-spec: 400"},
	"baddn":      {400, false, "3.1.2.15 unquoted non-token display name: 400"},
	"badvers":    {505, false, "3.1.2.16 SIP/7.0: 505"},
	"mismatch01": {400, false, "3.1.2.17 CSeq method mismatch: 400"},
	"mismatch02": {501, false, "3.1.2.18 unknown method with CSeq mismatch: 501"},
	"bigcode":    {0, false, "3.1.2.19 status code > 699: drop"},
	"badbranch":  {400, false, "3.2.1 branch is the bare magic cookie: 400 statelessly"},
	"insuf":      {400, false, "3.3.1 no Call-ID, From, To: 400"},
	"unkscm":     {416, false, "3.3.2 unknown Request-URI scheme: 416"},
	"novelsc":    {416, false, "3.3.3 soap.beep never routed here: 416"},
	"unksm2":     {400, false, "3.3.4 registrar: To must be a SIP AOR, 400"},
	"bext01":     {420, false, "3.3.5 proxy: 420 listing the Proxy-Require values"},
	"invut":      {486, true, "3.3.6 unknown Content-Type: a proxy forwards"},
	"regaut01":   {401, false, "3.3.7 unknown Authorization scheme: challenge with ours"},
	"multi01":    {400, false, "3.3.8 repeated single-value headers: 400"},
	"mcl01":      {400, false, "3.3.9 two Content-Lengths: error (400)"},
	"bcast":      {0, false, "3.3.10 response with a broadcast Via: a proxy drops it"},
	"zeromf":     {483, false, "3.3.11 Max-Forwards 0 at a proxy: 483"},
	"cparam01":   {401, false, "3.3.12 valid REGISTER: the registrar challenges"},
	"cparam02":   {401, false, "3.3.13 valid REGISTER: the registrar challenges"},
	"regescrt":   {401, false, "3.3.14 valid REGISTER: the registrar challenges"},
	"sdp01":      {486, true, "3.3.15 Accept without SDP: a proxy forwards"},
	"inv2543":    {400, false, "3.4.1 RFC 2543 INVITE without branch or From tag: not supported, 400"},
}

// tortureMessage reads a torture message and points its foreign Route (or
// the loopback one) at the sink, so nothing leaves the machine.
func tortureMessage(t testing.TB, label, sink string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("wire", "testdata", "rfc4475", label+".sip"))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte("<sip:services.example.com;lr;"), []byte("<sip:"+sink+";lr;"), 1)
	return bytes.Replace(b, []byte("Route: <sip:127.0.0.1:5080>"), []byte("Route: <sip:"+sink+";lr>"), 1)
}

// sink is a UDP next hop that records every request and answers it
// (INVITE 486, others 200; ACK nothing).
type sink struct {
	conn *net.UDPConn
	got  chan []byte
	done chan struct{}
}

func newSink(t testing.TB) *sink {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{conn: c, got: make(chan []byte, 64), done: make(chan struct{})}
	go s.serve() // owner: the test; ended by Close in Cleanup, waited there
	t.Cleanup(func() {
		c.Close()
		<-s.done
	})
	return s
}

func (s *sink) addr() string { return s.conn.LocalAddr().String() }

func (s *sink) serve() {
	defer close(s.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		req, ok := m.(*sip.Request)
		if err != nil || !ok || req.IsAck() {
			continue
		}
		select {
		case s.got <- append([]byte(nil), buf[:n]...):
		default:
		}
		code, reason := 200, "OK"
		if req.IsInvite() {
			code, reason = 486, "Busy Here"
		}
		res := sip.NewResponseFromRequest(req, code, reason, nil)
		_, _ = s.conn.WriteToUDP([]byte(res.String()), from)
	}
}

// next returns the next request the sink got, or nil after wait.
func (s *sink) next(wait time.Duration) []byte {
	select {
	case b := <-s.got:
		return b
	case <-time.After(wait):
		return nil
	}
}

// wsClient is a raw SIP-over-WebSocket client with a reader goroutine.
type wsClient struct {
	c    *websocket.Conn
	msgs chan string
	done chan struct{}
}

func dialWSClient(t testing.TB, addr string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"sip"}})
	if err != nil {
		t.Fatal(err)
	}
	p := &wsClient{c: c, msgs: make(chan string, 16), done: make(chan struct{})}
	go func() { // owner: the test; ends when the connection closes
		defer close(p.done)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			p.msgs <- string(b)
		}
	}()
	t.Cleanup(func() {
		_ = c.CloseNow()
		<-p.done
	})
	return p
}

func (p *wsClient) send(t testing.TB, b []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// recvStatus is udpPeer.recvStatus for a WebSocket.
func (p *wsClient) recvStatus(wait time.Duration) string {
	deadline := time.After(wait)
	for {
		select {
		case m := <-p.msgs:
			line, _, _ := strings.Cut(m, "\r\n")
			if !strings.HasPrefix(line, "SIP/2.0 100 ") {
				return line
			}
		case <-deadline:
			return ""
		}
	}
}

// viaPeer is a UDP peer standing where msg's top Via says its sender is:
// a response to a UDP request without rport goes to the source address
// and the Via's port, or the default port of the transport it arrived on
// (5060: sipgo ignores a Via's "TLS" for a datagram) when it names none
// (RFC 3261 §18.2.2). It binds a random 127/8 address so that port is free.
func viaPeer(t *testing.T, msg []byte) *udpPeer {
	t.Helper()
	port := 5060
	for _, l := range strings.Split(string(msg), "\r\n")[1:] {
		name, value, _ := strings.Cut(l, ":")
		if n := strings.ToLower(strings.TrimSpace(name)); n != "via" && n != "v" {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) < 2 {
			break
		}
		sentBy, _, _ := strings.Cut(fields[1], ";")
		if _, p, err := net.SplitHostPort(sentBy); err == nil {
			port = atoiTest(p)
		}
		break
	}
	for i := 0; i < 20; i++ {
		ip := net.IPv4(127, byte(1+rand.IntN(250)), byte(rand.IntN(256)), byte(1+rand.IntN(250)))
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return &udpPeer{t: t, conn: c}
		}
	}
	t.Fatalf("no free 127/8 address for port %d", port)
	return nil
}

func tortureConfig(sinkAddr string) Config {
	cfg := baseConfig()
	cfg.Domains = []string{"example.com"}
	cfg.Trusted = []string{"127.0.0.0/8"}
	cfg.Routes = []route.Rule{{To: []string{"sip:" + sinkAddr}}}
	return cfg
}

// TestTorture sends every RFC 4475 message over UDP and over WebSocket to a
// fresh gateway (the messages reuse branches, so one gateway would see
// some as retransmissions) and checks the outcome tortureWant names, what
// reached the sink, and that the gateway still answers OPTIONS after each.
func TestTorture(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("wire", "testdata", "rfc4475", "*.sip"))
	if len(files) != 49 || len(tortureWant) != 49 {
		t.Fatalf("%d files, %d expectations; want 49 each", len(files), len(tortureWant))
	}
	for _, f := range files {
		label := strings.TrimSuffix(filepath.Base(f), ".sip")
		want, ok := tortureWant[label]
		if !ok {
			t.Fatalf("no expectation for %s", label)
		}
		t.Run(label, func(t *testing.T) {
			sk := newSink(t)
			gw := startGWWith(t, tortureConfig(sk.addr()), Deps{Listeners: []Listener{{Transport: "ws", Addr: "127.0.0.1:0", Path: "/ws"}}})
			msg := tortureMessage(t, label, sk.addr())
			for _, transport := range []string{"udp", "ws"} {
				var got string
				wait := 3 * time.Second
				if want.code == 0 {
					wait = 300 * time.Millisecond
				}
				switch transport {
				case "udp":
					p := viaPeer(t, msg)
					p.send(gw.addr["udp"], string(msg))
					got = p.recvStatus(wait)
				case "ws":
					p := dialWSClient(t, gw.addr["ws"])
					p.send(t, msg)
					got = p.recvStatus(wait)
				}
				checkTortureAnswer(t, transport, want, got)
				fwd := sk.next(100 * time.Millisecond)
				switch {
				case want.fwd && fwd == nil:
					t.Errorf("%s: nothing forwarded (%s)", transport, want.why)
				case !want.fwd && fwd != nil:
					t.Errorf("%s: forwarded, want not (%s):\n%s", transport, want.why, fwd)
				case want.fwd:
					checkForwarded(t, transport, msg, fwd)
				}
				alive(t, gw)
			}
		})
	}
}

func checkTortureAnswer(t *testing.T, transport string, want tortureOutcome, got string) {
	t.Helper()
	if want.code == 0 {
		if got != "" {
			t.Errorf("%s: got %q, want no answer (%s)", transport, got, want.why)
		}
		return
	}
	if !strings.HasPrefix(got, "SIP/2.0 "+itoa(want.code)+" ") {
		t.Errorf("%s: got %q, want %d (%s)", transport, got, want.code, want.why)
	}
}

// alive checks the gateway still answers an OPTIONS addressed to it.
func alive(t *testing.T, gw *testGW) {
	t.Helper()
	p := newUDPPeer(t)
	p.send(gw.addr["udp"], msg(p.addr(), "OPTIONS sip:example.com SIP/2.0", "Via: SIP/2.0/UDP {src};branch=z9hG4bK-alive"+itoa(int(time.Now().UnixNano()%1e9)),
		"Max-Forwards: 70", "From: <sip:a@example.com>;tag=1", "To: <sip:example.com>", "Call-ID: alive-"+p.addr(), "CSeq: 1 OPTIONS",
		"Content-Length: 0", "", ""))
	if got := p.recvStatus(2 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("gateway not alive after the message: %q", got)
	}
}

// checkForwarded compares the forwarded request with the original: the
// same method as written, every header the proxy does not interpret kept
// byte for byte (name and value; folding may become one SP, RFC 3261
// §7.3.1), the body exactly the Content-Length octets.
func checkForwarded(t *testing.T, transport string, orig, fwd []byte) {
	t.Helper()
	method, _, _ := bytes.Cut(orig, []byte(" "))
	if !bytes.HasPrefix(fwd, append(method, ' ')) {
		t.Errorf("%s: forwarded method changed: %.60q", transport, fwd)
	}
	head, body, _ := bytes.Cut(orig, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")[1:]
	var unfolded []string
	for _, l := range lines {
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(unfolded) > 0 {
			unfolded[len(unfolded)-1] = strings.TrimRight(unfolded[len(unfolded)-1], " \t") + " " + strings.TrimLeft(l, " \t")
			continue
		}
		unfolded = append(unfolded, l)
	}
	cl := -1
	for _, l := range unfolded {
		name, value, _ := strings.Cut(l, ":")
		name, value = strings.TrimRight(name, " \t"), strings.Trim(value, " \t")
		switch strings.ToLower(name) {
		case "via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "max-forwards", "contact", "m",
			"route", "record-route", "content-type", "c":
			continue // interpreted (and re-serialised) by the proxy
		case "content-length", "l":
			cl = atoiTest(value)
			continue
		}
		if !bytes.Contains(fwd, []byte("\r\n"+name+": "+value+"\r\n")) {
			t.Errorf("%s: header %q: %q not forwarded byte-exact", transport, name, value)
		}
	}
	if cl >= 0 {
		body = body[:cl]
	}
	if _, fbody, _ := bytes.Cut(fwd, []byte("\r\n\r\n")); !bytes.Equal(fbody, body) {
		t.Errorf("%s: body changed: %d octets forwarded, %d sent", transport, len(fbody), len(body))
	}
}

func atoiTest(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestTortureInARow sends all 49 messages over UDP to one gateway, then
// checks it still answers.
func TestTortureInARow(t *testing.T) {
	sk := newSink(t)
	gw := startGW(t, tortureConfig(sk.addr()))
	p := newUDPPeer(t)
	files, _ := filepath.Glob(filepath.Join("wire", "testdata", "rfc4475", "*.sip"))
	for _, f := range files {
		p.send(gw.addr["udp"], string(tortureMessage(t, strings.TrimSuffix(filepath.Base(f), ".sip"), sk.addr())))
	}
	alive(t, gw)
}
