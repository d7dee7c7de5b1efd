package registrar

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// BenchmarkRegister measures Register alone: refreshes spread over 10,000
// AORs (a parsed REGISTER, CSeq raised each time).
func BenchmarkRegister(b *testing.B) {
	for _, tc := range []struct{ name, file string }{{"udp", "sipp_udp.sip"}, {"ws", "jssip_ws.sip"}} {
		b.Run(tc.name, func(b *testing.B) {
			r := New(testConfig(), nil, nil)
			req := sample(b, tc.file)
			aors := make([]string, 10000)
			for i := range aors {
				aors[i] = fmt.Sprintf("user%d@example.com", i)
			}
			src := Source{Addr: "203.0.113.1:5000", Transport: "wss", FlowID: "flow-1"}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				req.CSeq().SeqNo = uint32(i + 10)
				if _, err := r.Register(req, aors[i%len(aors)], src, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseRegister adds sipgo's parsing, as the gateway pays it.
func BenchmarkParseRegister(b *testing.B) {
	raw := []byte(sample(b, "jssip_ws.sip").String())
	r := New(testConfig(), nil, nil)
	src := Source{Addr: "203.0.113.1:5000", Transport: "wss", FlowID: "flow-1"}
	now := time.Now()
	p := sip.NewParser()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		msg, err := p.ParseSIP(raw)
		if err != nil {
			b.Fatal(err)
		}
		req := msg.(*sip.Request)
		req.CSeq().SeqNo = uint32(i + 10)
		if _, err := r.Register(req, "alice@example.com", src, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup measures routing's read path.
func BenchmarkLookup(b *testing.B) {
	r := New(testConfig(), nil, nil)
	now := time.Now()
	if _, err := r.Register(sample(b, "multi_q.sip"), "carol@example.com", udp, now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(r.Lookup("carol@example.com", now)) != 4 {
			b.Fatal("lookup")
		}
	}
}

// BenchmarkNATSources measures the keepalive's periodic walk over 10,000
// bindings of which none is NATed (browsers on WebSocket): it must not
// copy the store.
func BenchmarkNATSources(b *testing.B) {
	r := New(testConfig(), nil, nil)
	req := sample(b, "jssip_ws.sip")
	now := time.Now()
	for i := range 10000 {
		src := Source{Addr: "203.0.113.1:5000", Transport: "wss", FlowID: fmt.Sprintf("flow-%d", i)}
		if _, err := r.Register(req, fmt.Sprintf("user%d@example.com", i), src, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if got := r.NATSources("udp"); len(got) != 0 {
			b.Fatalf("NATSources = %d addresses", len(got))
		}
	}
}

// BenchmarkMemoryPerUDPContact registers 10,000 AORs with one UDP contact
// each, from REGISTERs parsed as the gateway parses them (SIPp's, each
// with its own user, Call-ID and port), and reports the live heap they
// keep per contact after a collection: what one registered UDP phone
// costs the location service. Run it with -benchtime=1x (or a few x: each
// round uses a new registrar).
func BenchmarkMemoryPerUDPContact(b *testing.B) {
	const n = 10000
	tmpl, err := os.ReadFile("testdata/sipp_udp.sip")
	if err != nil {
		b.Fatal(err)
	}
	text := strings.ReplaceAll(string(tmpl), "\n", "\r\n")
	p := sip.NewParser()
	now := time.Now()
	var per float64
	for range b.N {
		r := New(testConfig(), nil, nil)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range n {
			port := strconv.Itoa(10000 + i%50000)
			raw := []byte(strings.NewReplacer("alice", fmt.Sprintf("u%06d", i), "127.0.0.1:5070", "198.51.100.7:"+port,
				"1-4242", fmt.Sprintf("%d-4242", i)).Replace(text))
			msg, err := p.ParseSIP(raw)
			if err != nil {
				b.Fatal(err)
			}
			req := msg.(*sip.Request)
			src := Source{Addr: fmt.Sprintf("198.51.100.7:%d", 10000+i%50000), Transport: "udp"}
			if _, err := r.Register(req, AOR(req.To().Address), src, now); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if got := len(r.Snapshot()); got != n {
			b.Fatalf("%d bindings, want %d", got, n)
		}
		per = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		runtime.KeepAlive(r)
	}
	b.ReportMetric(per, "bytes/contact")
}
