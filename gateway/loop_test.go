package gateway

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/self"
)

// TestLoopDetection: a request that comes back through us unchanged (our
// Via with the same loop hash) gets 482; a spiral (the Request-URI changed)
// is forwarded.
func TestLoopDetection(t *testing.T) {
	g := fuzzGateway(t)
	build := func(ruri, ourBranch string) *sip.Request {
		lines := []string{"OPTIONS " + ruri + " SIP/2.0"}
		if ourBranch != "" {
			lines = append(lines, "Via: SIP/2.0/UDP 127.0.0.1:5060;branch="+ourBranch)
		}
		lines = append(lines, "Via: SIP/2.0/UDP 10.1.1.1:5060;branch=z9hG4bK-orig", "Max-Forwards: 69",
			"From: <sip:a@example.test>;tag=f", "To: <sip:b@elsewhere.test>", "Call-ID: loop-1", "CSeq: 1 OPTIONS",
			"Content-Length: 0", "", "")
		m, err := sip.NewParser().ParseSIP([]byte(strings.Join(lines, "\r\n")))
		if err != nil {
			t.Fatal(err)
		}
		r := m.(*sip.Request)
		r.SetSource("10.1.1.1:5060")
		r.SetTransport("UDP")
		return r
	}
	first := build("sip:b@elsewhere.test", "")
	p, err := g.prepare(first, false)
	if err != nil {
		t.Fatal(err)
	}
	ours := self.BranchMagic + p.hash + ".abc"
	tests := []struct {
		name string
		req  *sip.Request
		want int
	}{
		{"loop", build("sip:b@elsewhere.test", ours), 482},
		{"spiral", build("sip:c@elsewhere.test", ours), 503}, // forwarded; the test sender refuses
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx := newRecordTx()
			g.wrap(g.handle)(tc.req, tx)
			if len(tx.resp) == 0 || tx.resp[len(tx.resp)-1].StatusCode != tc.want {
				t.Fatalf("responses %v, want final %d", tx.resp, tc.want)
			}
		})
	}
}
