package wire

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// request is an OPTIONS whose Via lines are vias.
func request(vias ...string) []byte {
	lines := append([]string{"OPTIONS sip:example.com SIP/2.0"}, vias...)
	lines = append(lines, "Max-Forwards: 70", "From: <sip:a@example.com>;tag=1", "To: <sip:example.com>",
		"Call-ID: stamp", "CSeq: 1 OPTIONS", "Content-Length: 0", "", "")
	return []byte(strings.Join(lines, "\r\n"))
}

func TestCheckFromStamps(t *testing.T) {
	v4 := netip.MustParseAddrPort("192.0.2.7:5999")
	v6 := netip.MustParseAddrPort("[2001:db8::7]:5999")
	mapped := netip.AddrPortFrom(netip.AddrFrom16(netip.MustParseAddr("::ffff:192.0.2.7").As16()), 5999)
	cases := []struct {
		name string
		src  netip.AddrPort
		via  []string // Via lines of the request
		want string   // first Via line after CheckFrom; "" = the message is returned unchanged
	}{
		{"name", v4, []string{"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bK1;received=192.0.2.7"},
		{"name with port", v4, []string{"Via: SIP/2.0/TCP nowhere.invalid:5070;branch=z9hG4bK1"},
			"Via: SIP/2.0/TCP nowhere.invalid:5070;branch=z9hG4bK1;received=192.0.2.7"},
		{"other address", v4, []string{"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1;received=192.0.2.7"},
		{"source address", v4, []string{"Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bK1"}, ""},
		{"source address, no port", v4, []string{"Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK1"}, ""},
		{"rport, source address", v4, []string{"Via: SIP/2.0/UDP 192.0.2.7:5060;rport;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP 192.0.2.7:5060;rport=5999;branch=z9hG4bK1;received=192.0.2.7"},
		{"rport, name", v4, []string{"Via: SIP/2.0/UDP nowhere.invalid;branch=z9hG4bK1;rport"},
			"Via: SIP/2.0/UDP nowhere.invalid;branch=z9hG4bK1;rport=5999;received=192.0.2.7"},
		{"rport with a value", v4, []string{"Via: SIP/2.0/UDP nowhere.invalid;rport=1;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP nowhere.invalid;rport=5999;branch=z9hG4bK1;received=192.0.2.7"},
		{"received forged", v4, []string{"Via: SIP/2.0/UDP 192.0.2.7;received=198.51.100.1;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP 192.0.2.7;received=192.0.2.7;branch=z9hG4bK1"},
		{"received twice, upper case", v4, []string{"Via: SIP/2.0/UDP h.example.com;RECEIVED=1.1.1.1;branch=z9hG4bK1;received=2.2.2.2"},
			"Via: SIP/2.0/UDP h.example.com;received=192.0.2.7;branch=z9hG4bK1"},
		{"already stamped", v4, []string{"Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;rport=5999;received=192.0.2.7"}, ""},
		{"LWS and compact form", v4, []string{"v: SIP / 2.0 / UDP h.example.com ; branch = z9hG4bK1 ; rport"},
			"v: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;rport=5999;received=192.0.2.7"},
		{"only the top hop", v4, []string{"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2;rport", "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3"},
			"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=192.0.2.7,SIP/2.0/UDP b.example.com;branch=z9hG4bK2;rport"},
		{"IPv6 name", v6, []string{"Via: SIP/2.0/UDP h.example.com;rport;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP h.example.com;rport=5999;branch=z9hG4bK1;received=2001:db8::7"},
		{"IPv6 source address", v6, []string{"Via: SIP/2.0/UDP [2001:DB8::7]:5060;branch=z9hG4bK1"}, ""},
		{"IPv4-mapped source", mapped, []string{"Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1"},
			"Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;received=192.0.2.7"},
		{"no source", netip.AddrPort{}, []string{"Via: SIP/2.0/UDP h.example.com;rport;branch=z9hG4bK1"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := request(tc.via...)
			plain, _, _ := Check(in)
			out, reply, err := CheckFrom(in, tc.src)
			if err != nil || reply != nil || out == nil {
				t.Fatalf("not passed: reply %q err %v", reply, err)
			}
			if tc.want == "" {
				if !bytes.Equal(out, plain) {
					t.Fatalf("stamped, want as Check:\n%s", out)
				}
				return
			}
			_, after, _ := bytes.Cut(out, []byte("\r\n"))
			if line, _, _ := bytes.Cut(after, []byte("\r\n")); string(line) != tc.want {
				t.Fatalf("top Via\n %s\nwant\n %s", line, tc.want)
			}
			if len(out) > len(in)+maxStamp {
				t.Fatalf("grew by %d, more than %d", len(out)-len(in), maxStamp)
			}
			if again, _, _ := CheckFrom(out, tc.src); !bytes.Equal(again, out) {
				t.Fatalf("not stable:\n%s\n%s", out, again)
			}
			req := mustParse(t, out).(*sip.Request)
			ip := tc.src.Addr().Unmap().String()
			if got, _ := req.Via().Params.Get("received"); got != ip {
				t.Fatalf("sipgo reads received %q, want %q", got, ip)
			}
		})
	}
}

// TestCheckFromResponse: responses are never stamped (their Via is ours).
func TestCheckFromResponse(t *testing.T) {
	res := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h.example.com;branch=z9hG4bK1;rport\r\nFrom: <sip:a@example.com>;tag=1\r\n" +
		"To: <sip:example.com>;tag=2\r\nCall-ID: stamp\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
	out, _, err := CheckFrom(res, netip.MustParseAddrPort("192.0.2.7:5999"))
	if err != nil || !bytes.Equal(out, res) {
		t.Fatalf("response changed (%v):\n%s", err, out)
	}
}

// TestCheckFromTorture stamps every RFC 4475 request that passes: each
// names its sender by a host name or an address that is not the source,
// so each gets received, and sipgo reads it.
func TestCheckFromTorture(t *testing.T) {
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	for _, tc := range torture {
		if tc.code >= 0 {
			continue
		}
		msg := readTorture(t, tc.label)
		out, _, err := CheckFrom(msg, src)
		if err != nil {
			t.Fatalf("%s: %v", tc.label, err)
		}
		req, ok := mustParse(t, out).(*sip.Request)
		if !ok {
			continue // 3.1.1.12/13 are responses
		}
		if got, _ := req.Via().Params.Get("received"); got != "127.0.0.1" {
			t.Errorf("%s: top Via %q, want received=127.0.0.1", tc.label, req.Via().Value())
		}
	}
}
