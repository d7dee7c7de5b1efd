package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// TestAcceptedRetransmissions checks that what sipgo's Accepted and
// Completed states did is done after their transactions are gone
// (accepted.go; TestMain applies the process timers as cmd does, so the
// INVITE's transactions end acceptedHold after the 2xx): a retransmitted
// INVITE is absorbed, a 2xx retransmitted by the callee reaches the caller
// byte for byte as the first relay, and a retransmitted BYE gets the same
// 200 without reaching the callee again.
func TestAcceptedRetransmissions(t *testing.T) {
	uas := newUDPPeer(t)
	cfg := baseConfig()
	cfg.Trusted = []string{"127.0.0.1/32"}
	cfg.Routes = []route.Rule{{Match: route.Match{User: `^\+?[0-9]+$`}, To: []string{"sip:" + uas.addr()}}}
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)

	invite := msg(caller.addr(), "INVITE sip:123@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-acc1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:123@example.test>", "Call-ID: accepted-1",
		"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", "")
	caller.send(gwAddr, invite)
	in := recvRequest(t, uas, sip.INVITE)
	res := sip.NewResponseFromRequest(in, 200, "OK", nil)
	res.To().Params.Add("tag", "b1")
	res.AppendHeader(sip.NewHeader("Contact", "<sip:uas@"+uas.addr()+">"))
	ok := res.String()
	uas.send(gwAddr, ok)
	first := recvFinal(t, caller)
	if !strings.HasPrefix(first, "SIP/2.0 200 ") {
		t.Fatalf("caller got %q, want 200", first)
	}

	time.Sleep(acceptedHold + 300*time.Millisecond) // sipgo's transactions are gone
	caller.send(gwAddr, invite)
	if got := uas.recv(700 * time.Millisecond); got != "" {
		t.Fatalf("retransmitted INVITE reached the callee:\n%s", got)
	}
	if got := caller.recv(200 * time.Millisecond); got != "" {
		t.Fatalf("retransmitted INVITE answered:\n%s", got)
	}
	uas.send(gwAddr, ok)
	if again := caller.recv(2 * time.Second); again != first {
		t.Fatalf("retransmitted 2xx relayed as\n%s\nwant the first relay\n%s", again, first)
	}
	if n, _ := gw.g.relayed.oks.Stats(); n != 1 {
		t.Fatalf("%d relayed 2xx kept, want 1", n)
	}

	route := parse(t, first).(*sip.Response).GetHeader("Record-Route").Value()
	bye := msg(caller.addr(), "BYE sip:uas@"+uas.addr()+" SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-accbye;rport", "Max-Forwards: 70", "Route: "+route,
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:123@example.test>;tag=b1", "Call-ID: accepted-1",
		"CSeq: 2 BYE", "Content-Length: 0", "", "")
	caller.send(gwAddr, bye)
	gotBye := recvRequest(t, uas, sip.BYE)
	reply(t, uas, gwAddr, gotBye, 200, "OK", "")
	byeOK := caller.recv(2 * time.Second)
	if !strings.HasPrefix(byeOK, "SIP/2.0 200 ") {
		t.Fatalf("BYE answer %q, want 200", byeOK)
	}
	caller.send(gwAddr, bye)
	if again := caller.recv(2 * time.Second); again != byeOK {
		t.Fatalf("retransmitted BYE answered\n%s\nwant the same 200\n%s", again, byeOK)
	}
	if got := uas.recv(500 * time.Millisecond); got != "" {
		t.Fatalf("retransmitted BYE reached the callee:\n%s", got)
	}
}

// recvFinal returns the next final response p receives (1xx skipped).
func recvFinal(t testing.TB, p *udpPeer) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		s := p.recv(time.Until(deadline))
		if s == "" {
			break
		}
		if r, ok := parse(t, s).(*sip.Response); ok && r.StatusCode >= 200 {
			return s
		}
	}
	t.Fatal("no final response")
	return ""
}
