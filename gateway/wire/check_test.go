package wire

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// torture is what Check does with each RFC 4475 message: pass (code -1),
// drop (code 0) or answer code with reason, and the sentinel of the cause.
var torture = []struct { //nolint:gochecknoglobals // test table
	label  string
	code   int
	reason string
	cause  error
	why    string // RFC 4475 §3 in one line
}{
	// 3.1.1 Valid messages: all pass.
	{"wsinv", -1, "", nil, "3.1.1.1 folding, LWS and odd case everywhere: well formed"},
	{"intmeth", -1, "", nil, "3.1.1.2 every token character in method, URI, params: well formed"},
	{"esc01", -1, "", nil, "3.1.1.3 % escapes in URIs: well formed"},
	{"escnull", -1, "", nil, "3.1.1.4 escaped NULs in URIs: well formed"},
	{"esc02", -1, "", nil, "3.1.1.5 % that is no escape; unknown method RE%47IST%45R: well formed"},
	{"lwsdisp", -1, "", nil, "3.1.1.6 no LWS between display name and <: accept"},
	{"longreq", -1, "", nil, "3.1.1.7 long values, 34 Vias: well formed"},
	{"dblreq", -1, "", nil, "3.1.1.8 octets after Content-Length in a datagram: ignore them"},
	{"semiuri", -1, "", nil, "3.1.1.9 ';' in the Request-URI user part: well formed"},
	{"transports", -1, "", nil, "3.1.1.10 unknown Via transports: well formed"},
	{"mpart01", -1, "", nil, "3.1.1.11 multipart body with NULs, framed by Content-Length"},
	{"unreason", -1, "", nil, "3.1.1.12 UTF-8 reason phrase: well formed response"},
	{"noreason", -1, "", nil, "3.1.1.13 empty reason phrase: well formed response"},
	// 3.1.2 Invalid messages.
	{"badinv01", 400, "Bad Via", ErrVia, "3.1.2.1 empty Via and Contact params: 400"},
	{"clerr", 400, "Bad Content-Length", ErrContentLength, "3.1.2.2 Content-Length larger than the datagram's body: 400"},
	{"ncl", 400, "Bad Content-Length", ErrContentLength, "3.1.2.3 negative Content-Length: error"},
	{"scalar02", 400, "Bad CSeq", ErrCSeq, "3.1.2.4 CSeq beyond 2**31: 400"},
	{"scalarlg", 0, "", ErrCSeq, "3.1.2.5 response with overlarge scalars: discard"},
	{"quotbal", 400, "Bad To", ErrAddress, "3.1.2.6 unterminated quoted display name: 400"},
	{"ltgtruri", 400, "Bad Request-URI", ErrRequestURI, "3.1.2.7 Request-URI in <>: reject (400)"},
	{"lwsruri", 400, "Bad Request-URI", ErrRequestURI, "3.1.2.8 LWS inside the Request-URI: 400"},
	{"lwsstart", 400, "Bad Request-Line", ErrRequestLine, "3.1.2.9 several SPs between elements: reject"},
	{"trws", 400, "Bad Request-Line", ErrRequestLine, "3.1.2.10 SP after the SIP-Version: reject"},
	{"escruri", 400, "Bad Request-URI", ErrRequestURI, "3.1.2.11 escaped headers in the Request-URI: 400"},
	{"baddate", -1, "", nil, "3.1.2.12 non-GMT Date: a proxy that does not use Date forwards it"},
	{"regbadct", 400, "Bad Contact", ErrAddress, "3.1.2.13 URI with headers not in <>: 400"},
	{"badaspec", 400, "Bad To", ErrAddress, "3.1.2.14 spaces inside <addr-spec>: 400"},
	{"baddn", 400, "Bad From", ErrAddress, "3.1.2.15 unquoted non-token display name: 400"},
	{"badvers", 505, "Version Not Supported", ErrVersion, "3.1.2.16 SIP/7.0: 505"},
	{"mismatch01", 400, "CSeq Method Mismatch", ErrMethodMismatch, "3.1.2.17 OPTIONS with CSeq INVITE: 400"},
	{"mismatch02", 501, "Not Implemented", ErrMethodMismatch, "3.1.2.18 unknown method, CSeq INVITE: 501 (better than 400)"},
	{"bigcode", 0, "", ErrStatusLine, "3.1.2.19 status code > 699: drop"},
	// 3.2 Transaction layer.
	{"badbranch", 400, "Bad Via", ErrVia, "3.2.1 branch is the bare magic cookie: 400, statelessly"},
	// 3.3 Application layer: syntax is fine, the proxy core decides.
	{"insuf", 400, "Missing From", ErrMissing, "3.3.1 no Call-ID, From, To: 400"},
	{"unkscm", 416, "Unsupported URI Scheme", ErrScheme, "3.3.2 unknown Request-URI scheme: 416"},
	{"novelsc", 416, "Unsupported URI Scheme", ErrScheme, "3.3.3 soap.beep Request-URI never routed here: 416"},
	{"unksm2", -1, "", nil, "3.3.4 isbn/http/name URIs in To/From/Contact: well formed (registrar: 400)"},
	{"bext01", -1, "", nil, "3.3.5 unknown Proxy-Require: well formed (proxy: 420)"},
	{"invut", -1, "", nil, "3.3.6 unknown Content-Type: a proxy forwards"},
	{"regaut01", -1, "", nil, "3.3.7 unknown Authorization scheme: well formed (registrar: 401)"},
	{"multi01", 400, "Multiple CSeq", ErrRepeated, "3.3.8 several values in single-value headers: 400"},
	{"mcl01", 400, "Multiple Content-Length", ErrRepeated, "3.3.9 two Content-Lengths: error"},
	{"bcast", -1, "", nil, "3.3.10 response with a broadcast Via: parses; the proxy drops it"},
	{"zeromf", -1, "", nil, "3.3.11 Max-Forwards 0: legal (proxy: 483)"},
	{"cparam01", -1, "", nil, "3.3.12 contact-param without <>: well formed"},
	{"cparam02", -1, "", nil, "3.3.13 URI param in <>: well formed"},
	{"regescrt", -1, "", nil, "3.3.14 escaped header in a <Contact> URI: well formed"},
	{"sdp01", -1, "", nil, "3.3.15 Accept without application/sdp: a proxy forwards"},
	// 3.4 Backward compatibility.
	{"inv2543", 400, "Missing From Tag", ErrMissing, "3.4.1 RFC 2543 INVITE, no branch, no From tag: not supported (sipgo cannot match it)"},
}

func readTorture(t testing.TB, label string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rfc4475", label+".sip"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckTorture(t *testing.T) {
	files, _ := filepath.Glob("testdata/rfc4475/*.sip")
	if len(files) != 49 || len(torture) != 49 {
		t.Fatalf("%d files, %d table rows; want 49 each", len(files), len(torture))
	}
	for _, tc := range torture {
		t.Run(tc.label, func(t *testing.T) {
			msg := readTorture(t, tc.label)
			out, reply, err := Check(msg)
			if tc.code < 0 {
				if err != nil || out == nil || reply != nil {
					t.Fatalf("want pass, got out=%v reply=%q err=%v", out != nil, reply, err)
				}
				mustParse(t, out)
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.cause) || e.Code != tc.code || e.Reason != tc.reason {
				t.Fatalf("got %v, want %d %q (%v)", err, tc.code, tc.reason, tc.cause)
			}
			if out != nil {
				t.Fatalf("refused message passed on")
			}
			if tc.code == 0 {
				if reply != nil {
					t.Fatalf("dropped message answered: %q", reply)
				}
				return
			}
			line, _, _ := strings.Cut(string(reply), "\r\n")
			if want := "SIP/2.0 " + itoa(tc.code) + " " + tc.reason; line != want {
				t.Fatalf("reply %q, want %q", line, want)
			}
		})
	}
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// mustParse asserts sipgo takes out and, for a request, can key its
// transaction.
func mustParse(t testing.TB, out []byte) sip.Message {
	t.Helper()
	m, err := sip.ParseMessage(out)
	if err != nil {
		t.Fatalf("sipgo cannot parse the checked message: %v\n%s", err, out)
	}
	if r, ok := m.(*sip.Request); ok {
		if _, err := sip.ServerTxKeyMake(r); err != nil {
			t.Fatalf("no transaction key: %v", err)
		}
	}
	return m
}

// TestNormaliseWsinv checks what unfolding and LWS removal give sipgo.
func TestNormaliseWsinv(t *testing.T) {
	out, _, err := Check(readTorture(t, "wsinv"))
	if err != nil {
		t.Fatal(err)
	}
	req := mustParse(t, out).(*sip.Request)
	vias := req.GetHeaders("Via")
	var hops []string
	for _, h := range vias {
		v := h.(*sip.ViaHeader)
		b, _ := v.Params.Get("branch")
		hops = append(hops, v.Transport+" "+v.Host+" "+b)
	}
	if got := strings.Join(hops, ", "); got != "UDP 192.0.2.2 390skdjuw, TCP spindle.example.com z9hG4bK9ikj8, UDP 192.168.255.111 z9hG4bK30239" {
		t.Errorf("vias: %s", got)
	}
	if tag, _ := req.From().Params.Get("tag"); tag != "98asjd8" {
		t.Errorf("From tag %q", tag)
	}
	if tag, _ := req.To().Params.Get("tag"); tag != "1918181833n" {
		t.Errorf("To tag %q", tag)
	}
	if c := req.CSeq(); c.SeqNo != 9 || c.MethodName != sip.INVITE {
		t.Errorf("CSeq %v", c)
	}
	if mf := req.MaxForwards(); mf == nil || mf.Val() != 68 {
		t.Errorf("Max-Forwards %v", mf)
	}
	if q, _ := req.Contact().Params.Get("q"); q != "0.33" {
		t.Errorf("Contact q %q", q)
	}
	for name, want := range map[string]string{
		"NewFangledHeader":              "newfangled value continued newfangled value",
		"UnknownHeaderWithUnusualValue": ";;,,;;,;",
	} {
		if h := req.GetHeader(name); h == nil || h.Value() != want {
			t.Errorf("%s = %v, want %q", name, h, want)
		}
	}
	if !bytes.HasSuffix(out, []byte("\r\n\r\nv=0\r\n")) && !bytes.Contains(out, []byte("\r\n\r\nv=0\r\no=mhandley")) {
		t.Errorf("body moved")
	}
	if len(req.Body()) != 150 {
		t.Errorf("body %d bytes", len(req.Body()))
	}
}

// TestUnchanged: a message that needs nothing is passed on as is (no copy),
// and unknown headers stay byte-exact.
func TestUnchanged(t *testing.T) {
	for _, label := range []string{"intmeth", "esc02", "longreq", "mpart01", "unreason"} {
		msg := readTorture(t, label)
		out, _, err := Check(msg)
		if err != nil || &out[0] != &msg[0] || len(out) != len(msg) {
			t.Errorf("%s: not passed through as is (err %v)", label, err)
		}
	}
}

func TestDblreqCut(t *testing.T) {
	out, _, err := Check(readTorture(t, "dblreq"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("INVITE")) || !bytes.HasSuffix(out, []byte("Content-Length: 0\r\n\r\n")) {
		t.Fatalf("trailing octets kept:\n%s", out)
	}
}

func TestCheckCases(t *testing.T) {
	const head = "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\n"
	cases := []struct {
		name string
		msg  string
		code int // -1 pass, 0 drop
		want string
	}{
		{"keepalive", "\r\n\r\n", -2, ""},
		{"plain", "OPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", -1, ""},
		{"leading CRLF", "\r\nOPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\r\n\r\n", -1, ""},
		{"garbage", "\x00\x01garbage\r\n\r\nnot sip", 0, ""},
		{"no CRLF", "OPTIONS sip:b@example.com SIP/2.0", 0, ""},
		{"bare LF", "OPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\nX: y\r\n\r\n", 400, "Bad Line Ending"},
		{"no colon", "OPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq 1 OPTIONS\r\n\r\n", 400, "Bad Header Line"},
		{"bad MF", "OPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\r\nMax-Forwards: 256\r\n\r\n", 400, "Bad Max-Forwards"},
		{"MF letters", "OPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\r\nMax-Forwards: ten\r\n\r\n", 400, "Bad Max-Forwards"},
		{"empty Call-ID", "OPTIONS sip:b@example.com SIP/2.0\r\n" + strings.Replace(head, "Call-ID: c1", "Call-ID:", 1) + "CSeq: 1 OPTIONS\r\n\r\n", 400, "Bad Call-ID"},
		{"tel", "OPTIONS tel:+1234 SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\r\n\r\n", 416, "Unsupported URI Scheme"},
		{"bad version", "OPTIONS sip:b@example.com SIP/2.x\r\n" + head + "CSeq: 1 OPTIONS\r\n\r\n", 400, "Bad SIP-Version"},
		{"ACK refused silently", "ACK sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 INVITE\r\n\r\n", 400, ""},
		{"case mismatch", "invite sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 INVITE\r\n\r\n", 501, "Not Implemented"},
		{"response without Via", "SIP/2.0 200 OK\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n", 0, ""},
		{"response no reason SP", "SIP/2.0 200\r\n" + head + "CSeq: 1 OPTIONS\r\n\r\n", 0, ""},
		{"IPv6 via", "OPTIONS sip:b@[2001:db8::1]:5060 SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::2]:5060;branch=z9hG4bK1;received=2001:db8::2\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n", -1, ""},
		{"contact star", "REGISTER sip:example.com SIP/2.0\r\n" + head + "CSeq: 1 REGISTER\r\nContact: *\r\nExpires: 0\r\n\r\n", -1, ""},
		{"route addr-spec", "OPTIONS sip:b@example.com SIP/2.0\r\n" + head + "CSeq: 1 OPTIONS\r\nRoute: sip:p.example.com;lr\r\n\r\n", 400, "Bad Route"},
		{"to digit scheme", "OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <x-1:b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n", 400, "Bad To"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, reply, err := Check([]byte(tc.msg))
			switch tc.code {
			case -2:
				if out != nil || reply != nil || err != nil {
					t.Fatalf("keepalive: %v %q %v", out, reply, err)
				}
			case -1:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				mustParse(t, out)
			default:
				var e *Error
				if !errors.As(err, &e) || (tc.code != 0 && e.Code != tc.code) {
					t.Fatalf("got %v, want %d", err, tc.code)
				}
				line, _, _ := strings.Cut(string(reply), "\r\n")
				want := ""
				if tc.want != "" {
					want = "SIP/2.0 " + itoa(tc.code) + " " + tc.want
				}
				if line != want {
					t.Fatalf("reply %q, want %q", line, want)
				}
			}
		})
	}
}

// TestReply checks the stateless answer: copied headers, a stable To tag.
func TestReply(t *testing.T) {
	msg := readTorture(t, "mismatch01")
	_, reply, _ := Check(msg)
	res, err := sip.ParseMessage(reply)
	if err != nil {
		t.Fatalf("reply does not parse: %v\n%s", err, reply)
	}
	r := res.(*sip.Response)
	if b, _ := r.Via().Params.Get("branch"); b != "z9hG4bKkdjuw" || r.CallID().Value() != "mismatch01.dj0234sxdfl3" ||
		r.CSeq().SeqNo != 8 || !r.From().Params.Has("tag") {
		t.Fatalf("headers not copied:\n%s", reply)
	}
	tag, ok := r.To().Params.Get("tag")
	if !ok || tag == "" {
		t.Fatalf("no To tag:\n%s", reply)
	}
	_, again, _ := Check(msg)
	if !bytes.Equal(reply, again) {
		t.Fatalf("retransmission got another answer")
	}
	if Reply([]byte("ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n"), 400, "x") != nil {
		t.Fatal("ACK answered")
	}
	// A request whose To already has a tag keeps it.
	_, reply, _ = Check(readTorture(t, "lwsruri"))
	if !bytes.Contains(reply, []byte("To: sip:user@example.com;tag=3xfe-9921883-z9f\r\n")) {
		t.Fatalf("To tag changed:\n%s", reply)
	}
}
