package route

import (
	"errors"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in        string
		transport string
		addr      string
		err       error
	}{
		{"sip:10.0.0.5", "udp", "10.0.0.5:5060", nil},
		{"sip:10.0.0.5:5080;transport=tcp", "tcp", "10.0.0.5:5080", nil},
		{"sip:pbx.example.com;transport=TLS", "tls", "pbx.example.com:5061", nil},
		{"sips:pbx.example.com", "tls", "pbx.example.com:5061", nil},
		{"sip:[2001:db8::1]:5070", "udp", "[2001:db8::1]:5070", nil},
		{"sip:gw.example.com;maddr=192.0.2.7", "udp", "192.0.2.7:5060", nil},
		{"sip:10.0.0.5;transport=sctp", "", "", ErrTransport},
		{"sip:abc.invalid;transport=ws", "", "", ErrTransport},
		{"sip:abc.invalid", "", "", ErrUnresolvable},
		{"http://10.0.0.5", "", "", ErrTarget},
		{"tel:+15550100", "", "", ErrTarget},
		{"sip:", "", "", ErrTarget},
		{"trunk:", "", "", ErrTarget},
		{"set:a b", "", "", ErrTarget},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Transport != tc.transport || got.Addr != tc.addr {
				t.Fatalf("got %s %s, want %s %s", got.Transport, got.Addr, tc.transport, tc.addr)
			}
		})
	}
}

func TestTableLookup(t *testing.T) {
	tab, err := NewTable([]Rule{
		{Match: Match{User: `^9`}, To: []string{"sip:10.0.0.9", "sip:10.0.0.10;transport=tcp"}},
		{Match: Match{Domain: `^pbx\.example$`}, To: []string{"sip:10.0.0.20"}},
		{To: []string{"sip:10.0.0.99"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, host string
		want       []string
	}{
		{"900", "example.test", []string{"udp 10.0.0.9:5060", "tcp 10.0.0.10:5060"}},
		{"alice", "pbx.example", []string{"udp 10.0.0.20:5060"}},
		{"alice", "other.example", []string{"udp 10.0.0.99:5060"}},
	} {
		groups, ok := tab.Lookup(tc.user, tc.host)
		if !ok {
			t.Fatalf("%s@%s: no route", tc.user, tc.host)
		}
		var got []string
		for _, g := range groups {
			if len(g) != 1 {
				t.Fatalf("%s@%s: group of %d, want serial groups of one", tc.user, tc.host, len(g))
			}
			got = append(got, g[0].Transport+" "+g[0].Addr)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s@%s: %v, want %v", tc.user, tc.host, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s@%s: %v, want %v", tc.user, tc.host, got, tc.want)
			}
		}
	}
	empty, _ := NewTable(nil)
	if _, ok := empty.Lookup("alice", "example.test"); ok {
		t.Fatal("empty table matched")
	}
}

func TestNewTableNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		rules []Rule
		want  string
	}{
		{[]Rule{{Match: Match{User: "("}, To: []string{"sip:a"}}}, "routes[0].match.user"},
		{[]Rule{{To: []string{"sip:a"}}, {Match: Match{Domain: "[x"}, To: []string{"sip:a"}}}, "routes[1].match.domain"},
		{[]Rule{{To: []string{"sip:a", "mailto:x@y"}}}, "routes[0].to[1]"},
	} {
		_, err := NewTable(tc.rules)
		if err == nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("err = %v, want prefix %q", err, tc.want)
		}
	}
}

func TestFromURIKeepsURI(t *testing.T) {
	u := sip.Uri{Scheme: "sip", Host: "gw.example.com", UriParams: sip.HeaderParams{{K: "maddr", V: "192.0.2.1"}}}
	if _, err := FromURI(u); err != nil {
		t.Fatal(err)
	}
	if u.Host != "gw.example.com" {
		t.Fatalf("FromURI changed the URI's host to %q", u.Host)
	}
}

func TestParseNamedTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"trunk:carrier":   {Kind: KindTrunk, Name: "carrier"},
		"set:pbx":         {Kind: KindSet, Name: "pbx"},
		"set:eu-west.1_a": {Kind: KindSet, Name: "eu-west.1_a"},
	} {
		got, err := ParseTarget(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got.Kind != want.Kind || got.Name != want.Name || got.Addr != "" {
			t.Fatalf("%s: got %+v, want %+v", in, got, want)
		}
	}
}
