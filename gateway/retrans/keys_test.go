package retrans

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func parse(t *testing.T, first, via, transport string, extra ...string) sip.Message {
	t.Helper()
	lines := append([]string{first, "Via: " + via, "From: <sip:a@example.com>;tag=f", "To: <sip:b@example.com>;tag=t",
		"Call-ID: k1", "CSeq: 12 " + strings.Fields(first)[0]}, extra...)
	if strings.HasPrefix(first, "SIP/2.0") {
		lines[5] = "CSeq: 12 INVITE"
	}
	lines = append(lines, "Content-Length: 0", "", "")
	m, err := sip.NewParser().ParseSIP([]byte(strings.Join(lines, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := m.(*sip.Request); ok {
		r.SetSource("192.0.2.1:5062")
		r.SetTransport(transport)
	}
	return m
}

func TestKeys(t *testing.T) {
	const via = "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1"
	tests := []struct {
		name    string
		first   string
		via     string
		tr      string
		request string // RequestKey, "" = none
		tx      string // TxKey, "" = none
	}{
		{"REGISTER over UDP", "REGISTER sip:example.com SIP/2.0", via, "UDP", "REGISTER z9hG4bKx1 192.0.2.1:5060 192.0.2.1:5062", "REGISTER z9hG4bKx1 192.0.2.1:5060 192.0.2.1:5062"},
		{"INVITE keeps its transaction", "INVITE sip:b@example.com SIP/2.0", via, "UDP", "", "INVITE z9hG4bKx1 192.0.2.1:5060 192.0.2.1:5062"},
		{"ACK", "ACK sip:b@example.com SIP/2.0", via, "UDP", "", ""},
		{"reliable transport", "BYE sip:b@example.com SIP/2.0", "SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKx1", "TCP", "", ""},
		{"RFC 2543 branch", "BYE sip:b@example.com SIP/2.0", "SIP/2.0/UDP 192.0.2.1:5060;branch=old", "UDP", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parse(t, tt.first, tt.via, tt.tr).(*sip.Request)
			k, ok := RequestKey(nil, req)
			if string(k) != tt.request || ok != (tt.request != "") {
				t.Errorf("RequestKey = %q %v, want %q", k, ok, tt.request)
			}
			k, ok = TxKey(nil, req)
			if string(k) != tt.tx || ok != (tt.tx != "") {
				t.Errorf("TxKey = %q %v, want %q", k, ok, tt.tx)
			}
		})
	}
	ok200 := parse(t, "SIP/2.0 200 OK", via, "UDP").(*sip.Response)
	if k, ok := OKKey(nil, ok200); !ok || string(k) != "2xx z9hG4bKx1 t 12" {
		t.Errorf("OKKey(200 to INVITE) = %q %v", k, ok)
	}
	if _, ok := OKKey(nil, parse(t, "SIP/2.0 180 Ringing", via, "UDP").(*sip.Response)); ok {
		t.Error("a 180 has an OKKey")
	}
}
