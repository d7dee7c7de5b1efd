package nat

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestAliasContacts(t *testing.T) {
	for _, tc := range []struct {
		name, contact, src, transport, want string
	}{
		{"private behind public", "sip:alice@192.168.1.20:5060", "198.51.100.7:40000", "UDP", "sip:alice@192.168.1.20:5060;alias=198.51.100.7~40000~udp"},
		{"address seen elsewhere", "sip:alice@203.0.113.9:5060", "198.51.100.7:40000", "TCP", "sip:alice@203.0.113.9:5060;alias=198.51.100.7~40000~tcp"},
		{"only the port differs", "sip:alice@198.51.100.7:5060", "198.51.100.7:40000", "UDP", "sip:alice@198.51.100.7:5060"},
		{"reachable as written", "sip:alice@198.51.100.7:5060", "198.51.100.7:5060", "UDP", "sip:alice@198.51.100.7:5060"},
		{"host name left alone", "sip:alice@pbx.example.com", "198.51.100.7:40000", "UDP", "sip:alice@pbx.example.com"},
		{"websocket has its own token", "sip:alice@abc.invalid;transport=ws", "198.51.100.7:40000", "WSS", "sip:alice@abc.invalid;transport=ws"},
		{"already aliased", "sip:alice@192.168.1.20;alias=1.2.3.4~5~udp", "198.51.100.7:40000", "UDP", "sip:alice@192.168.1.20;alias=1.2.3.4~5~udp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "x"})
			var u sip.Uri
			if err := sip.ParseUri(tc.contact, &u); err != nil {
				t.Fatal(err)
			}
			req.AppendHeader(&sip.ContactHeader{Address: u})
			AliasContacts(req, tc.src, tc.transport)
			if got := req.Contact().Address.String(); got != tc.want {
				t.Fatalf("Contact %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAliasTarget(t *testing.T) {
	for _, tc := range []struct {
		uri, transport, addr, rest string
		ok                         bool
	}{
		{"sip:alice@192.168.1.20:5060;alias=198.51.100.7~40000~udp", "udp", "198.51.100.7:40000", "sip:alice@192.168.1.20:5060", true},
		{"sip:alice@10.0.0.1;alias=2001:db8::1~5061~tls;ob", "tls", "[2001:db8::1]:5061", "sip:alice@10.0.0.1;ob", true},
		{"sip:alice@10.0.0.1;alias=1.2.3.4~0~udp", "", "", "", false},
		{"sip:alice@10.0.0.1;alias=1.2.3.4~5060~ws", "", "", "", false},
		{"sip:alice@10.0.0.1;alias=host~5060~udp", "", "", "", false},
		{"sip:alice@10.0.0.1", "", "", "", false},
	} {
		var u sip.Uri
		if err := sip.ParseUri(tc.uri, &u); err != nil {
			t.Fatal(err)
		}
		tr, addr, ok := AliasTarget(&u)
		if ok != tc.ok || tr != tc.transport || addr != tc.addr {
			t.Errorf("%s: %s %s %v, want %s %s %v", tc.uri, tr, addr, ok, tc.transport, tc.addr, tc.ok)
		}
		if ok && u.String() != tc.rest {
			t.Errorf("%s: left %s, want %s", tc.uri, u.String(), tc.rest)
		}
	}
}
