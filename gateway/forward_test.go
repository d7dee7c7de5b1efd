package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/self"
)

// parse parses a datagram received by a test peer.
func parse(t testing.TB, s string) sip.Message {
	t.Helper()
	m, err := sip.NewParser().ParseSIP([]byte(s))
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return m
}

// recvRequest waits for a request with the given method on p.
func recvRequest(t testing.TB, p *udpPeer, method sip.RequestMethod) *sip.Request {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		s := p.recv(time.Until(deadline))
		if s == "" {
			break
		}
		if r, ok := parse(t, s).(*sip.Request); ok && r.Method == method {
			return r
		}
	}
	t.Fatalf("no %s received", method)
	return nil
}

// reply answers req from peer p (its Via set is copied back).
func reply(t testing.TB, p *udpPeer, to string, req *sip.Request, code int, reason, toTag string) {
	t.Helper()
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if toTag != "" {
		res.To().Params.Add("tag", toTag)
	}
	res.AppendHeader(sip.NewHeader("Contact", "<sip:uas@"+p.addr()+">"))
	p.send(to, res.String())
}

// TestForwardCallUDP runs INVITE/180/200/ACK/BYE from a trusted caller to a
// route's next hop and checks the proxy's Via, Record-Route, Max-Forwards
// and loose routing of ACK and BYE.
func TestForwardCallUDP(t *testing.T) {
	uas := newUDPPeer(t)
	cfg := baseConfig()
	cfg.Trusted = []string{"127.0.0.1/32"}
	cfg.Routes = []route.Rule{{Match: route.Match{User: `^\+?[0-9]+$`}, To: []string{"sip:" + uas.addr()}}}
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)

	invite := msg(caller.addr(), "INVITE sip:123@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-inv1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:123@example.test>", "Call-ID: fwd-1",
		"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", "")
	caller.send(gwAddr, invite)

	in := recvRequest(t, uas, sip.INVITE)
	vias := in.GetHeaders("Via")
	if len(vias) != 2 || !strings.Contains(vias[0].Value(), "branch="+self.BranchMagic) {
		t.Fatalf("Via set %v, want ours on top of the caller's", vias)
	}
	if v := vias[1].Value(); !strings.Contains(v, "rport=") || !strings.Contains(v, "received=127.0.0.1") {
		t.Errorf("caller Via not completed with rport/received: %s", v)
	}
	if mf := in.MaxForwards(); mf == nil || mf.Val() != 69 {
		t.Errorf("Max-Forwards %v, want 69", mf)
	}
	rr := in.GetHeaders("Record-Route")
	if len(rr) != 1 || !strings.Contains(rr[0].Value(), gwAddr) || !strings.Contains(rr[0].Value(), ";lr") {
		t.Fatalf("Record-Route %v, want one with %s;lr", rr, gwAddr)
	}
	reply(t, uas, gwAddr, in, 180, "Ringing", "b1")
	reply(t, uas, gwAddr, in, 200, "OK", "b1")

	var ok *sip.Response
	for ok == nil {
		s := caller.recv(3 * time.Second)
		if s == "" {
			t.Fatal("caller got no 200")
		}
		if r, isRes := parse(t, s).(*sip.Response); isRes && r.StatusCode == 200 {
			ok = r
		}
	}
	if n := len(ok.GetHeaders("Via")); n != 1 {
		t.Fatalf("200 reached caller with %d Vias, want 1", n)
	}
	route := ok.GetHeader("Record-Route").Value()
	ack := msg(caller.addr(), "ACK sip:uas@"+uas.addr()+" SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-ack1;rport", "Max-Forwards: 70", "Route: "+route,
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:123@example.test>;tag=b1", "Call-ID: fwd-1",
		"CSeq: 1 ACK", "Content-Length: 0", "", "")
	caller.send(gwAddr, ack)
	gotAck := recvRequest(t, uas, sip.ACK)
	if gotAck.Route() != nil {
		t.Errorf("ACK still carries our Route: %v", gotAck.Route())
	}
	bye := msg(caller.addr(), "BYE sip:uas@"+uas.addr()+" SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-bye1;rport", "Max-Forwards: 70", "Route: "+route,
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:123@example.test>;tag=b1", "Call-ID: fwd-1",
		"CSeq: 2 BYE", "Content-Length: 0", "", "")
	caller.send(gwAddr, bye)
	gotBye := recvRequest(t, uas, sip.BYE)
	reply(t, uas, gwAddr, gotBye, 200, "OK", "")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("BYE answer %q, want 200", got)
	}
}

// TestInviteTimeout: a next hop that rings forever is cancelled after
// invite_timeout and the caller gets 408.
func TestInviteTimeout(t *testing.T) {
	uas := newUDPPeer(t)
	cfg := baseConfig()
	cfg.Trusted = []string{"127.0.0.1/32"}
	cfg.InviteTimeout = 500 * time.Millisecond
	cfg.Routes = []route.Rule{{To: []string{"sip:" + uas.addr()}}}
	gw := startGW(t, cfg)
	caller := newUDPPeer(t)
	caller.send(gw.addr["udp"], msg(caller.addr(), "INVITE sip:bob@elsewhere.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-to1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:bob@elsewhere.test>", "Call-ID: to-1",
		"CSeq: 1 INVITE", "Content-Length: 0", "", ""))
	in := recvRequest(t, uas, sip.INVITE)
	reply(t, uas, gw.addr["udp"], in, 180, "Ringing", "r1")
	c := recvRequest(t, uas, sip.CANCEL)
	reply(t, uas, gw.addr["udp"], c, 200, "OK", "")
	reply(t, uas, gw.addr["udp"], in, 487, "Request Terminated", "r1")
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		got := caller.recvStatus(time.Until(deadline))
		if strings.HasPrefix(got, "SIP/2.0 180") {
			continue
		}
		if !strings.HasPrefix(got, "SIP/2.0 408") {
			t.Fatalf("caller got %q, want 408", got)
		}
		return
	}
	t.Fatal("no final response")
}
