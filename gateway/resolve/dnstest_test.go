package resolve

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// zone is an in-process DNS server on loopback answering from records
// written in zone-file syntax; it counts the questions it gets.
type zone struct {
	addr string

	mu      sync.Mutex
	rrs     map[cacheKey][]dns.RR
	queries map[cacheKey]int
	fail    bool // answer SERVFAIL
}

func newZone(t *testing.T, records ...string) *zone {
	t.Helper()
	z := &zone{rrs: map[cacheKey][]dns.RR{}, queries: map[cacheKey]int{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		k := cacheKey{strings.ToLower(rr.Header().Name), rr.Header().Rrtype}
		z.rrs[k] = append(z.rrs[k], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z.addr = pc.LocalAddr().String()
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	done := make(chan struct{})
	go func() { // owner: the test; stopped by Shutdown below
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

func (z *zone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	k := cacheKey{strings.ToLower(q.Question[0].Name), q.Question[0].Qtype}
	z.mu.Lock()
	z.queries[k]++
	fail := z.fail
	rrs := z.rrs[k]
	exists := false
	for key := range z.rrs {
		exists = exists || key.name == k.name
	}
	z.mu.Unlock()
	switch {
	case fail:
		m.Rcode = dns.RcodeServerFailure
	case !exists:
		m.Rcode = dns.RcodeNameError
	default:
		m.Answer = rrs
	}
	_ = w.WriteMsg(m)
}

func (z *zone) asked(name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[cacheKey{dns.Fqdn(name), qtype}]
}

func (z *zone) setFail(f bool) {
	z.mu.Lock()
	z.fail = f
	z.mu.Unlock()
}
