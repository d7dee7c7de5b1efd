package gateway

import (
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route/rtjson"
)

// TestRouteAPIHeadersRoundTrip changes From and To on a branch as a
// routing service asks, then relays a response carrying them: upstream
// gets the caller's own From and To back, with the callee's To tag, and
// the received request is untouched.
func TestRouteAPIHeadersRoundTrip(t *testing.T) {
	msg := "INVITE sip:900@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n" +
		"From: \"Alice\" <sip:alice@example.test>;tag=a1\r\nTo: <sip:900@example.test>\r\nCall-ID: c1\r\n" +
		"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	m, err := sip.ParseMessage([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	req := m.(*sip.Request)
	d, err := rtjson.Parse([]byte(`{"version":"1.0","routes":[{"uri":"sip:900@10.0.0.5","headers":{` +
		`"from":{"display":"Carol","uri":"sip:+15550001@example.test"},"to":{"uri":"sip:+15557777@example.test"},"extra":"X-A: 1\r\n"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := apiTarget(req, d.Branches[0])
	if err != nil {
		t.Fatal(err)
	}
	branch := forwardCopy(req)
	tgt.Edit(branch)
	if f := branch.From(); f.DisplayName != "Carol" || f.Address.User != "+15550001" {
		t.Fatalf("branch From %s", f.Value())
	}
	if tag, _ := branch.From().Params.Get("tag"); tag != "a1" {
		t.Fatalf("branch From tag %q, want a1 kept", tag)
	}
	if branch.To().Address.User != "+15557777" || branch.GetHeader("X-A") == nil {
		t.Fatalf("branch To %s, X-A %v", branch.To().Value(), branch.GetHeader("X-A"))
	}
	if req.From().DisplayName != "Alice" || req.To().Address.User != "900" {
		t.Fatalf("the received request changed: From %s To %s", req.From().Value(), req.To().Value())
	}
	res := sip.NewResponseFromRequest(branch, 200, "OK", nil)
	res.To().Params.Add("tag", "b2")
	out := upstreamCopy(res)
	restoreParties(out, req)
	if f := out.From(); f.DisplayName != "Alice" || f.Address.User != "alice" {
		t.Fatalf("upstream From %s, want the caller's", f.Value())
	}
	if tag, _ := out.To().Params.Get("tag"); out.To().Address.User != "900" || tag != "b2" {
		t.Fatalf("upstream To %s, want the caller's URI with the callee's tag", out.To().Value())
	}
}
