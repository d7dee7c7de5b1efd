// Package resolvetest is an in-process DNS server on loopback for tests of
// what resolves SIP URIs (package resolve, trunks): it answers from
// records written in zone-file syntax and counts the questions it gets.
package resolvetest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

type key struct {
	name  string
	qtype uint16
}

// Zone is a running DNS server; it stops when the test ends.
type Zone struct {
	// Addr is the server's IP:port (UDP).
	Addr string

	mu      sync.Mutex
	rrs     map[key][]dns.RR
	names   map[string]bool
	queries map[key]int
	fail    bool
}

// NewZone serves records (e.g. "_sip._tcp.carrier.test. 60 IN SRV 10 0
// 5060 a.carrier.test.") on 127.0.0.1:0. A name without any record gets
// NXDOMAIN; a known name without the asked type, an empty answer.
func NewZone(t testing.TB, records ...string) *Zone {
	t.Helper()
	z := &Zone{rrs: map[key][]dns.RR{}, names: map[string]bool{}, queries: map[key]int{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		name := strings.ToLower(rr.Header().Name)
		z.rrs[key{name, rr.Header().Rrtype}] = append(z.rrs[key{name, rr.Header().Rrtype}], rr)
		z.names[name] = true
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z.Addr = pc.LocalAddr().String()
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	done := make(chan struct{})
	go func() { // owner: the test; ended by Shutdown in Cleanup
		defer close(done)
		_ = srv.ActivateAndServe()
	}()
	<-started
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return z
}

// ServeDNS implements dns.Handler.
func (z *Zone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	k := key{strings.ToLower(q.Question[0].Name), q.Question[0].Qtype}
	z.mu.Lock()
	z.queries[k]++
	switch {
	case z.fail:
		m.Rcode = dns.RcodeServerFailure
	case !z.names[k.name]:
		m.Rcode = dns.RcodeNameError
	default:
		m.Answer = z.rrs[k]
	}
	z.mu.Unlock()
	_ = w.WriteMsg(m)
}

// Asked counts the questions for name (with or without the final dot)
// and qtype.
func (z *Zone) Asked(name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[key{dns.Fqdn(strings.ToLower(name)), qtype}]
}

// SetFail makes the server answer SERVFAIL (true) or normally (false).
func (z *Zone) SetFail(f bool) {
	z.mu.Lock()
	z.fail = f
	z.mu.Unlock()
}
