package nat

import (
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func loadRequest(t testing.TB, name, transport, source string) *sip.Request {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sip.ParseMessage(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	req := m.(*sip.Request)
	req.SetTransport(transport)
	req.SetSource(source)
	return req
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		file, transport, source string
		want                    Reason
	}{
		{"yealink-register-behind-nat.sip", "UDP", "203.0.113.7:41234", ViaHost | ViaPort | ContactHost | ContactPrivate},
		{"yealink-register-behind-nat.sip", "UDP", "192.168.1.20:5060", 0}, // same LAN, no NAT
		{"yealink-register-behind-nat.sip", "UDP", "192.168.1.20:6000", ViaPort | ContactPort},
		{"linphone-register-rport.sip", "UDP", "198.51.100.77:5060", ViaHost | ContactHost | ContactPrivate},
		{"linphone-register-rport.sip", "UDP", "[::ffff:10.0.0.12]:5060", 0},
		{"public-register.sip", "UDP", "198.51.100.10:5060", 0},
		{"public-register.sip", "UDP", "198.51.100.10:5062", ViaPort | ContactPort},
		{"public-register.sip", "TCP", "198.51.100.10:49152", 0}, // ports not compared over TCP
		{"jssip-register-ws.sip", "WSS", "203.0.113.9:51000", ViaHost | ContactHost},
		{"tcp-invite-fqdn.sip", "TCP", "198.51.100.20:33000", ViaHost}, // names: Via counts, Contact cannot be compared
		{"public-register.sip", "UDP", "", 0},                          // no source: nothing to say
	} {
		t.Run(tc.file+"/"+tc.source, func(t *testing.T) {
			req := loadRequest(t, tc.file, tc.transport, tc.source)
			got := Detect(req)
			if got != tc.want {
				t.Fatalf("Detect = %s, want %s", got, tc.want)
			}
			if IsNATed(req) != (tc.want != 0) {
				t.Fatal("IsNATed disagrees with Detect")
			}
		})
	}
}

func TestReasonString(t *testing.T) {
	if s := (ViaHost | ContactPrivate).String(); s != "via-host,contact-private" {
		t.Fatal(s)
	}
	if s := Reason(0).String(); s != "none" {
		t.Fatal(s)
	}
}

func TestSetReceived(t *testing.T) {
	for _, tc := range []struct {
		name, via, source, want string
		changed                 bool
	}{
		{"NATed with rport", "SIP/2.0/UDP 10.0.0.12:5060;branch=z9hG4bK1;rport", "198.51.100.77:40001",
			"SIP/2.0/UDP 10.0.0.12:5060;branch=z9hG4bK1;rport=40001;received=198.51.100.77", true},
		{"NATed without rport", "SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK2", "203.0.113.7:41234",
			"SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK2;received=203.0.113.7", true},
		{"same host without rport", "SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK3", "198.51.100.10:5060",
			"SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK3", false},
		{"same host with rport: received anyway (RFC 3581)", "SIP/2.0/UDP 198.51.100.10;branch=z9hG4bK4;rport", "198.51.100.10:5060",
			"SIP/2.0/UDP 198.51.100.10;branch=z9hG4bK4;rport=5060;received=198.51.100.10", true},
		{"host name", "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK5", "[2001:db8::7]:51000",
			"SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK5;received=2001:db8::7", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := parseVia(t, tc.via)
			via := req.Via()
			changed, err := SetReceived(via, tc.source)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.changed || via.Value() != tc.want {
				t.Fatalf("changed=%v via=%q\nwant %q", changed, via.Value(), tc.want)
			}
		})
	}
	if _, err := SetReceived(&sip.ViaHeader{}, "nonsense"); err == nil {
		t.Fatal("bad source accepted")
	}
}

func parseVia(t *testing.T, via string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte("OPTIONS sip:a@example.com SIP/2.0\r\nVia: " + via +
		"\r\nCSeq: 1 OPTIONS\r\nCall-ID: x\r\nFrom: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*sip.Request)
}

// FuzzDetect runs Detect and SetReceived on whatever the SIP parser accepts.
func FuzzDetect(f *testing.F) {
	for _, name := range []string{"yealink-register-behind-nat.sip", "linphone-register-rport.sip", "jssip-register-ws.sip", "tcp-invite-fqdn.sip"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "203.0.113.7:41234")
	}
	f.Fuzz(func(t *testing.T, b []byte, source string) {
		m, err := sip.ParseMessage(b)
		req, ok := m.(*sip.Request)
		if err != nil || !ok {
			return
		}
		req.SetTransport("UDP")
		req.SetSource(source)
		Detect(req)
		if via := req.Via(); via != nil {
			_, _ = SetReceived(via, source)
		}
	})
}
