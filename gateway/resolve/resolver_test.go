package resolve

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/miekg/dns"

	"github.com/sipedge/sipedge/gateway/resolve/resolvetest"
	"github.com/sipedge/sipedge/gateway/route"
)

func uri(t *testing.T, s string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func hops(ts []route.Target) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		s += t.Transport + ":" + t.Addr
	}
	return s
}

var carrierZone = []string{
	"carrier.test. 300 IN NAPTR 20 10 \"s\" \"SIP+D2U\" \"\" _sip._udp.carrier.test.",
	"carrier.test. 300 IN NAPTR 10 10 \"s\" \"SIP+D2T\" \"\" _sip._tcp.carrier.test.",
	"carrier.test. 300 IN NAPTR 30 10 \"s\" \"SIPS+D2T\" \"\" _sips._tcp.carrier.test.",
	"carrier.test. 300 IN NAPTR 5 10 \"u\" \"E2U+sip\" \"!^.*$!sip:x@y!\" .",
	"_sip._tcp.carrier.test. 300 IN SRV 10 0 5070 b.carrier.test.",
	"_sip._tcp.carrier.test. 300 IN SRV 5 0 5060 a.carrier.test.",
	"_sip._udp.carrier.test. 300 IN SRV 10 0 5060 a.carrier.test.",
	"_sips._tcp.carrier.test. 300 IN SRV 10 0 5061 a.carrier.test.",
	"a.carrier.test. 60 IN A 192.0.2.1",
	"a.carrier.test. 60 IN AAAA 2001:db8::1",
	"b.carrier.test. 60 IN A 192.0.2.2",
	"_sip._udp.srvonly.test. 300 IN SRV 10 0 5080 a.carrier.test.",
	"plain.test. 300 IN A 192.0.2.9",
	"carrier.test. 60 IN A 192.0.2.7",
	"_sip._udp.dead.test. 300 IN SRV 10 0 5060 gone.test.",
	"_sip._udp.dead.test. 300 IN SRV 20 0 5062 b.carrier.test.",
}

func TestLookup(t *testing.T) {
	z := resolvetest.NewZone(t, carrierZone...)
	r, err := New(Options{Servers: []string{z.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		uri, want string
	}{
		{"sip:192.0.2.5", "udp:192.0.2.5:5060"},
		{"sips:[2001:db8::5]", "tls:[2001:db8::5]:5061"},
		{"sip:192.0.2.5:5070;transport=tcp", "tcp:192.0.2.5:5070"},
		// NAPTR by order: tcp (10), udp (20), tls (30); the "u" record is no SIP.
		{"sip:carrier.test", "tcp:192.0.2.1:5060 tcp:[2001:db8::1]:5060 tcp:192.0.2.2:5070 udp:192.0.2.1:5060 udp:[2001:db8::1]:5060 tls:192.0.2.1:5061 tls:[2001:db8::1]:5061"},
		{"sips:carrier.test", "tls:192.0.2.1:5061 tls:[2001:db8::1]:5061"},
		// A transport: that transport's SRV records.
		{"sip:carrier.test;transport=udp", "udp:192.0.2.1:5060 udp:[2001:db8::1]:5060"},
		// A port: addresses only.
		{"sip:carrier.test:5090", "udp:192.0.2.7:5090"},
		// No NAPTR: SRV per transport.
		{"sip:srvonly.test", "udp:192.0.2.1:5080 udp:[2001:db8::1]:5080"},
		// No NAPTR, no SRV: the address on the default transport.
		{"sip:plain.test", "udp:192.0.2.9:5060"},
		{"sips:plain.test", "tls:192.0.2.9:5061"},
		// An SRV target without addresses is skipped.
		{"sip:dead.test", "udp:192.0.2.2:5062"},
	}
	for _, tc := range tests {
		got, err := r.Lookup(context.Background(), uri(t, tc.uri))
		if err != nil {
			t.Errorf("%s: %v", tc.uri, err)
			continue
		}
		if hops(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.uri, hops(got), tc.want)
		}
	}
	if _, err := r.Lookup(context.Background(), uri(t, "sip:nowhere.test")); !errors.Is(err, ErrNoAddress) {
		t.Errorf("nowhere.test: %v, want ErrNoAddress", err)
	}
	if _, err := r.Lookup(context.Background(), uri(t, "sip:x.test;transport=sctp")); !errors.Is(err, ErrURI) {
		t.Errorf("sctp: %v, want ErrURI", err)
	}
}

// TestSRVWeights draws within one priority by weight (RFC 2782): weights
// 3 then 1 share the draws 0..4, the first taking 0..3, the second 4.
func TestSRVWeights(t *testing.T) {
	for _, tc := range []struct {
		draw int
		want string
	}{{0, "heavy light"}, {3, "heavy light"}, {4, "light heavy"}} {
		r := &Resolver{opt: Options{Rand: func(n int) int { return min(tc.draw, n-1) }}}
		recs := []*dns.SRV{
			{Hdr: dns.RR_Header{Name: "heavy"}, Priority: 10, Weight: 3, Target: "heavy"},
			{Hdr: dns.RR_Header{Name: "light"}, Priority: 10, Weight: 1, Target: "light"},
			{Hdr: dns.RR_Header{Name: "backup"}, Priority: 20, Weight: 100, Target: "backup"},
		}
		got := ""
		for i, s := range r.orderSRV(recs) {
			if i == 2 {
				if s.Target != "backup" {
					t.Errorf("draw %d: third %s, want the lower priority last", tc.draw, s.Target)
				}
				break
			}
			if i > 0 {
				got += " "
			}
			got += s.Target
		}
		if got != tc.want {
			t.Errorf("draw %d: %s, want %s", tc.draw, got, tc.want)
		}
	}
}

// TestCacheTTL: answers are reused for their TTL, then asked again; a
// server failure is an error, never cached.
func TestCacheTTL(t *testing.T) {
	z := resolvetest.NewZone(t, carrierZone...)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := New(Options{Servers: []string{z.Addr}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	look := func() {
		t.Helper()
		if _, err := r.Lookup(context.Background(), uri(t, "sip:carrier.test;transport=tcp")); err != nil {
			t.Fatal(err)
		}
	}
	look()
	look()
	if n := z.Asked("_sip._tcp.carrier.test", dns.TypeSRV); n != 1 {
		t.Errorf("SRV asked %d times within its TTL, want 1", n)
	}
	now = now.Add(61 * time.Second) // past the A TTL (60s), within the SRV TTL (300s)
	look()
	if n, a := z.Asked("_sip._tcp.carrier.test", dns.TypeSRV), z.Asked("a.carrier.test", dns.TypeA); n != 1 || a != 2 {
		t.Errorf("after 61s: SRV asked %d, A asked %d; want 1 and 2", n, a)
	}
	z.SetFail(true)
	now = now.Add(time.Hour)
	if _, err := r.Lookup(context.Background(), uri(t, "sip:carrier.test;transport=tcp")); !errors.Is(err, ErrServer) {
		t.Errorf("SERVFAIL: %v, want ErrServer", err)
	}
	z.SetFail(false)
	look()
}

func FuzzLookupURI(f *testing.F) {
	f.Add("sip:carrier.test;transport=tcp")
	f.Add("sips:[::1]:5061")
	f.Add("sip:1.2.3.4;maddr=5.6.7.8")
	r := &Resolver{opt: Options{Now: time.Now, Rand: func(int) int { return 0 }}, cache: newCache(16)}
	f.Fuzz(func(t *testing.T, s string) {
		var u sip.Uri
		if err := sip.ParseUri(s, &u); err != nil {
			return
		}
		// No servers: names fail fast with ErrServer; literals resolve.
		hs, err := r.Lookup(context.Background(), u)
		if err == nil && len(hs) == 0 {
			t.Fatalf("%s: no hops and no error", s)
		}
	})
}
