package self

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func testAddrs() Addrs {
	return New("sip.example.net", []string{"Example.com"}, []Listener{
		{Transport: "udp", Addr: "127.0.0.1:5060"},
		{Transport: "tls", Addr: "127.0.0.1:5061"},
		{Transport: "wss", Addr: "127.0.0.1:8443"},
	})
}

func uri(t *testing.T, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestIsSelf(t *testing.T) {
	s := testAddrs()
	tests := []struct {
		uri  string
		want bool
	}{
		{"sip:127.0.0.1:5060", true},
		{"sip:127.0.0.1", true},               // default port 5060
		{"sips:127.0.0.1", true},              // default port 5061
		{"sip:127.0.0.1;transport=tls", true}, // 5061 too
		{"sip:SIP.example.net:8443", true},    // advertised name, any case
		{"sip:127.0.0.1:5070", false},         // not our port
		{"sip:10.0.0.1:5060", false},          // not our host
		{"sip:example.com", false},            // a domain is not an address
		{"sip:alice@127.0.0.1:5061", true},    // user part does not matter
	}
	for _, tt := range tests {
		if got := s.IsSelf(uri(t, tt.uri)); got != tt.want {
			t.Errorf("IsSelf(%s) = %v, want %v", tt.uri, got, tt.want)
		}
	}
	for host, want := range map[string]bool{"example.com": true, "EXAMPLE.COM": true, "127.0.0.1": true, "[127.0.0.1]": true, "other.org": false} {
		if got := s.IsLocal(host); got != want {
			t.Errorf("IsLocal(%s) = %v, want %v", host, got, want)
		}
	}
	if !s.IsDomain("example.com") || s.IsDomain("other.org") {
		t.Error("IsDomain")
	}
}

func TestHeaders(t *testing.T) {
	s := testAddrs()
	rr, ok := s.RecordRoute("wss", "f1")
	if !ok || rr.Value() != "<sip:sip.example.net:8443;transport=ws;lr;"+FlowParam+"=f1>" {
		t.Fatalf("Record-Route %v %v", rr, ok)
	}
	if !s.IsOurRecordRoute("wss")(rr.Address) || s.IsOurRecordRoute("udp")(rr.Address) {
		t.Error("IsOurRecordRoute does not tell our wss entry from others")
	}
	c, ok := s.ContactURI("udp")
	if !ok || c.String() != "sip:sip.example.net:5060;transport=udp" {
		t.Fatalf("ContactURI %v %v", c.String(), ok)
	}
	if _, ok := s.Via("tcp", "x"); ok {
		t.Error("a Via on a transport we do not listen on")
	}
	v, ok := s.Via("tls", "abcd")
	if !ok || v.Transport != "TLS" || v.Host != "sip.example.net" || v.Port != 5061 {
		t.Fatalf("Via %v", v)
	}
	if b, _ := v.Params.Get("branch"); !strings.HasPrefix(b, BranchMagic+"abcd.") || len(b) != len(BranchMagic)+4+1+12 {
		t.Fatalf("branch %q", b)
	}
	if !s.IsOurVia(v) || s.IsOurVia(&sip.ViaHeader{Host: "10.0.0.1", Port: 5061}) || s.IsOurVia(nil) {
		t.Error("IsOurVia")
	}
}

func request(t *testing.T, ruri string, vias ...string) *sip.Request {
	t.Helper()
	lines := []string{"OPTIONS " + ruri + " SIP/2.0"}
	for _, v := range vias {
		lines = append(lines, "Via: "+v)
	}
	lines = append(lines, "From: <sip:a@example.com>;tag=f", "To: <sip:b@example.org>", "Call-ID: c1", "CSeq: 7 OPTIONS", "Content-Length: 0", "", "")
	m, err := sip.NewParser().ParseSIP([]byte(strings.Join(lines, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

// TestLooping: a request carrying our Via with its own loop hash is a
// loop; a changed Request-URI (a spiral) or another proxy's Via is not.
func TestLooping(t *testing.T) {
	s := testAddrs()
	first := request(t, "sip:b@example.org")
	h := LoopHash(first)
	if h != LoopHash(request(t, "sip:b@example.org")) || h == LoopHash(request(t, "sip:c@example.org")) {
		t.Fatal("LoopHash is not a function of the request's path")
	}
	ours := "SIP/2.0/UDP 127.0.0.1:5060;branch=" + BranchMagic + h + ".0123456789ab"
	tests := []struct {
		name string
		req  *sip.Request
		want bool
	}{
		{"loop", request(t, "sip:b@example.org", ours, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1"), true},
		{"spiral", request(t, "sip:c@example.org", ours), false},
		{"other proxy", request(t, "sip:b@example.org", "SIP/2.0/UDP 10.0.0.9:5060;branch="+BranchMagic+h+".x"), false},
		{"no via of ours", request(t, "sip:b@example.org", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1"), false},
	}
	for _, tt := range tests {
		if got := s.Looping(tt.req, LoopHash(tt.req)); got != tt.want {
			t.Errorf("%s: Looping = %v, want %v", tt.name, got, tt.want)
		}
	}
}
