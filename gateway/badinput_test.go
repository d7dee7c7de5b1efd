package gateway

import (
	"net"
	"strings"
	"testing"
	"time"
)

// TestBadInput sends malformed and refused requests over UDP and checks
// each gets its SIP error (or a logged drop), and that the gateway still
// answers afterwards.
func TestBadInput(t *testing.T) {
	cfg := baseConfig()
	gw := startGW(t, cfg)
	dst := gw.addr["udp"]
	const via = "Via: SIP/2.0/UDP {src};branch=z9hG4bK-%s;rport"
	hdrs := func(branch string, skip string, extra ...string) []string {
		all := []string{
			strings.Replace(via, "%s", branch, 1),
			"Max-Forwards: 70",
			"From: <sip:alice@example.test>;tag=f1",
			"To: <sip:bob@example.test>",
			"Call-ID: bad-" + branch,
			"CSeq: 1 OPTIONS",
		}
		out := []string{}
		for _, h := range all {
			name, _, _ := strings.Cut(h, ":")
			if skip != "" && strings.Contains(","+skip+",", ","+name+",") {
				continue
			}
			out = append(out, h)
		}
		return append(out, extra...)
	}
	req := func(start string, h []string, body string) func(src string) string {
		return func(src string) string {
			lines := append([]string{start}, h...)
			if !strings.Contains(strings.Join(h, "\n"), "Content-Length") {
				lines = append(lines, "Content-Length: "+itoa(len(body)))
			}
			return msg(src, append(lines, "", body)...)
		}
	}
	cases := []struct {
		name string
		make func(src string) string
		want string // status line prefix; "" means dropped (no response)
	}{
		{"missing From", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b1", "From"), ""), "SIP/2.0 400"},
		{"missing To", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b2", "To"), ""), "SIP/2.0 400"},
		{"missing Call-ID", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b3", "Call-ID"), ""), "SIP/2.0 400"},
		{"missing CSeq", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b4", "CSeq"), ""), "SIP/2.0 400"},
		// Without a Via an answer could not be matched (nor routed): dropped.
		{"missing Via", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b5", "Via"), ""), ""},
		{"CSeq method mismatch", req("INFO sip:bob@example.test SIP/2.0", hdrs("b6", ""), ""), "SIP/2.0 400"},
		{"Content-Length too large", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b7", "", "Content-Length: 500"), "short"), "SIP/2.0 400"},
		// An unknown method is forwarded like any other (RFC 3261 §16),
		// so an untrusted source is challenged first; one addressed to
		// the proxy itself gets 501.
		{"unknown method", req("FROB sip:bob@example.test SIP/2.0", hdrs("b8", "CSeq", "CSeq: 1 FROB"), ""), "SIP/2.0 407"},
		{"unknown method to the proxy", req("FROB sip:example.test SIP/2.0", hdrs("b8b", "CSeq,To", "CSeq: 1 FROB", "To: <sip:example.test>"), ""), "SIP/2.0 501"},
		{"unknown method, CSeq mismatch", req("FROB sip:bob@example.test SIP/2.0", hdrs("b8c", ""), ""), "SIP/2.0 501"},
		{"SIP/3.0", req("OPTIONS sip:bob@example.test SIP/3.0", hdrs("b8d", ""), ""), "SIP/2.0 505"},
		{"max-forwards zero", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b9", "Max-Forwards", "Max-Forwards: 0"), ""), "SIP/2.0 483"},
		{"proxy-require", req("OPTIONS sip:bob@example.test SIP/2.0", hdrs("b10", "", "Proxy-Require: foo"), ""), "SIP/2.0 420"},
		{"tel uri", req("OPTIONS tel:+123 SIP/2.0", hdrs("b11", ""), ""), "SIP/2.0 416"},
		{"untrusted invite needs auth", req("INVITE sip:bob@example.test SIP/2.0", hdrs("b12", "CSeq", "CSeq: 1 INVITE"), ""), "SIP/2.0 407"},
		{"unmatched cancel", req("CANCEL sip:bob@example.test SIP/2.0", hdrs("b13", "CSeq", "CSeq: 1 CANCEL"), ""), "SIP/2.0 481"},
		{"in-dialog without our route", req("BYE sip:bob@192.0.2.1 SIP/2.0", hdrs("b14", "To,CSeq", "To: <sip:bob@example.test>;tag=t1", "CSeq: 2 BYE"), ""), "SIP/2.0 404"},
		{"garbage", func(string) string { return "\x00\x01garbage\r\n\r\nnot sip at all" }, ""},
		{"options to proxy", req("OPTIONS sip:example.test SIP/2.0", hdrs("b15", ""), ""), "SIP/2.0 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newUDPPeer(t)
			p.send(dst, tc.make(p.addr()))
			wait := 2 * time.Second
			if tc.want == "" {
				wait = 300 * time.Millisecond
			}
			got := p.recvStatus(wait)
			if !strings.HasPrefix(got, tc.want) || (tc.want == "" && got != "") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Still alive after all of that.
	p := newUDPPeer(t)
	p.send(dst, req("OPTIONS sip:example.test SIP/2.0", hdrs("alive", ""), "")(p.addr()))
	if got := p.recvStatus(2 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("gateway not answering after bad input: %q", got)
	}
}

// TestOversizeTCP sends a 70 KiB request over TCP: the gateway drops the
// connection (logged) and keeps serving others.
func TestOversizeTCP(t *testing.T) {
	gw := startGW(t, baseConfig())
	c, err := net.Dial("tcp", gw.addr["tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := strings.Repeat("a", 70*1024)
	m := msg(c.LocalAddr().String(), "MESSAGE sip:bob@example.test SIP/2.0",
		"Via: SIP/2.0/TCP {src};branch=z9hG4bK-big", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=1", "To: <sip:bob@example.test>", "Call-ID: big",
		"CSeq: 1 MESSAGE", "Content-Type: text/plain", "Content-Length: "+itoa(len(body)), "", body)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(m))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err == nil && !strings.HasPrefix(string(buf[:n]), "SIP/2.0 413") && !strings.HasPrefix(string(buf[:n]), "SIP/2.0 400") {
		t.Fatalf("oversize request got %q, want 413/400 or connection close", string(buf[:n]))
	}
	p := newUDPPeer(t)
	p.send(gw.addr["udp"], msg(p.addr(), "OPTIONS sip:example.test SIP/2.0", "Via: SIP/2.0/UDP {src};branch=z9hG4bK-after",
		"Max-Forwards: 70", "From: <sip:a@example.test>;tag=1", "To: <sip:example.test>", "Call-ID: after", "CSeq: 1 OPTIONS",
		"Content-Length: 0", "", ""))
	if got := p.recvStatus(2 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("gateway not answering after oversize: %q", got)
	}
}
