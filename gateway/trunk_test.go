package gateway

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/auth"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/trunk"
)

// newProviderPeer is a UDP peer on 127.0.0.2: a trunk's address, apart
// from the callers on 127.0.0.1.
func newProviderPeer(t *testing.T) *udpPeer {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, conn: c}
}

func providerAuth(t *testing.T) *auth.Authenticator {
	a, err := auth.New(auth.Config{Realm: "carrier.test"}, map[string]auth.Secret{"acct": {Password: "pw"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func trunkConfig(prov *udpPeer) Config {
	cfg := baseConfig()
	cfg.Trusted = []string{"127.0.0.1/32"}
	cfg.Trunks = map[string]trunk.Config{"carrier": {
		URIs: []string{"sip:" + prov.addr()}, Username: "acct", Password: "pw",
		FromUser: "+15550100", DIDs: map[string]string{"+15550100": "alice"},
	}}
	cfg.Routes = []route.Rule{{Match: route.Match{User: `^\+?[0-9]+$`}, To: []string{"trunk:carrier"}}}
	return cfg
}

// TestTrunkCallAuth calls a number routed to a trunk whose provider
// demands digest on INVITE and on the BYE: the proxy answers each 407
// with the trunk's credentials and the next CSeq, rewrites the caller-ID,
// and keeps the caller's CSeqs on its side (the 200, the ACK and the BYE).
func TestTrunkCallAuth(t *testing.T) {
	prov := newProviderPeer(t)
	pa := providerAuth(t)
	gw := startGW(t, trunkConfig(prov))
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)
	caller.send(gwAddr, msg(caller.addr(), "INVITE sip:+15550199@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-ti1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>", "Call-ID: trunk-1",
		"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", ""))

	in := recvRequest(t, prov, sip.INVITE)
	if in.CSeq().SeqNo != 1 || in.GetHeader("Proxy-Authorization") != nil {
		t.Fatalf("first INVITE CSeq %d with credentials %v", in.CSeq().SeqNo, in.GetHeader("Proxy-Authorization"))
	}
	if want := "sip:+15550199@" + prov.addr(); in.Recipient.String() != want {
		t.Errorf("Request-URI %s, want %s", in.Recipient.String(), want)
	}
	ch := pa.Challenge(in, true, false)
	prov.send(gwAddr, ch.String())
	recvRequest(t, prov, sip.ACK) // hop-by-hop ACK for the 407
	in2 := recvRequest(t, prov, sip.INVITE)
	if user, err := pa.Check(in2, true); err != nil || user != "acct" {
		t.Fatalf("authenticated INVITE: %q, %v", user, err)
	}
	b1, _ := in.Via().Params.Get("branch")
	b2, _ := in2.Via().Params.Get("branch")
	if n := len(in2.GetHeaders("Via")); n != 2 {
		t.Errorf("authenticated INVITE has %d Vias, want ours and the caller's", n)
	}
	if in2.CSeq().SeqNo != 2 || b1 == b2 {
		t.Errorf("authenticated INVITE CSeq %d branch %v: want CSeq 2 in a new transaction", in2.CSeq().SeqNo, in2.Via())
	}
	if in2.From().Address.User != "+15550100" || !strings.Contains(in2.GetHeader("P-Asserted-Identity").Value(), "sip:+15550100@") {
		t.Errorf("caller-ID From %s PAI %v, want +15550100", in2.From().Address.String(), in2.GetHeader("P-Asserted-Identity"))
	}
	reply(t, prov, gwAddr, in2, 180, "Ringing", "p1")
	reply(t, prov, gwAddr, in2, 200, "OK", "p1")
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
	if ok.CSeq().SeqNo != 1 || len(ok.GetHeaders("Via")) != 1 || len(ok.GetHeaders("CSeq")) != 1 {
		t.Errorf("200 reached the caller with CSeq %d, %d Vias, %d CSeqs; want its own CSeq 1, one Via", ok.CSeq().SeqNo, len(ok.GetHeaders("Via")), len(ok.GetHeaders("CSeq")))
	}
	rr := ok.GetHeader("Record-Route").Value()
	caller.send(gwAddr, msg(caller.addr(), "ACK sip:uas@"+prov.addr()+" SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-ta1;rport", "Max-Forwards: 70", "Route: "+rr,
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>;tag=p1", "Call-ID: trunk-1",
		"CSeq: 1 ACK", "Content-Length: 0", "", ""))
	if ack := recvRequest(t, prov, sip.ACK); ack.CSeq().SeqNo != 2 || len(ack.GetHeaders("CSeq")) != 1 {
		t.Errorf("ACK CSeq %d at the provider, want 2 (its INVITE's)", ack.CSeq().SeqNo)
	}
	caller.send(gwAddr, msg(caller.addr(), "BYE sip:uas@"+prov.addr()+" SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-tb1;rport", "Max-Forwards: 70", "Route: "+rr,
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>;tag=p1", "Call-ID: trunk-1",
		"CSeq: 2 BYE", "Content-Length: 0", "", ""))
	bye := recvRequest(t, prov, sip.BYE)
	if bye.CSeq().SeqNo != 3 {
		t.Errorf("BYE CSeq %d at the provider, want 3", bye.CSeq().SeqNo)
	}
	// The provider challenges the BYE too (in-dialog): answered again,
	// with the next CSeq.
	prov.send(gwAddr, pa.Challenge(bye, true, false).String())
	bye2 := recvRequest(t, prov, sip.BYE)
	if user, err := pa.Check(bye2, true); err != nil || user != "acct" || bye2.CSeq().SeqNo != 4 {
		t.Fatalf("authenticated BYE: %q, %v, CSeq %d (want acct, CSeq 4)", user, err, bye2.CSeq().SeqNo)
	}
	reply(t, prov, gwAddr, bye2, 200, "OK", "")
	s := caller.recv(3 * time.Second)
	res, isRes := parse(t, s).(*sip.Response)
	if !isRes || res.StatusCode != 200 || res.CSeq().SeqNo != 2 {
		t.Fatalf("BYE answer %q, want 200 with CSeq 2", s)
	}
}

// TestTrunkWrongPassword: a provider challenging the answered nonce again
// gets no second answer; the caller sees the provider's refusal.
func TestTrunkWrongPassword(t *testing.T) {
	prov := newProviderPeer(t)
	pa := providerAuth(t)
	cfg := trunkConfig(prov)
	c := cfg.Trunks["carrier"]
	c.Password = "wrong"
	cfg.Trunks["carrier"] = c
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)
	caller.send(gwAddr, msg(caller.addr(), "INVITE sip:+15550199@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-tw1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>", "Call-ID: trunk-2",
		"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", ""))
	in := recvRequest(t, prov, sip.INVITE)
	ch := pa.Challenge(in, false, false)
	prov.send(gwAddr, ch.String())
	in2 := recvRequest(t, prov, sip.INVITE)
	if _, err := pa.Check(in2, false); err == nil {
		t.Fatal("wrong password accepted")
	}
	// The same challenge (same nonce) again.
	again := sip.NewResponseFromRequest(in2, 401, "Unauthorized", nil)
	for _, h := range ch.GetHeaders("WWW-Authenticate") {
		again.AppendHeader(h)
	}
	prov.send(gwAddr, again.String())
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 401") {
		t.Fatalf("caller got %q, want the provider's 401", got)
	}
	for {
		s := prov.recv(300 * time.Millisecond)
		if s == "" {
			break
		}
		if r, ok := parse(t, s).(*sip.Request); ok && r.Method == sip.INVITE {
			t.Fatal("a third INVITE was sent for the same nonce")
		}
	}
}

// TestTrunkInboundDID: a call from the trunk's address to a DID reaches
// the user it maps to (no digest asked); an unknown DID gets 404; the same
// call from another address must authenticate.
func TestTrunkInboundDID(t *testing.T) {
	prov := newProviderPeer(t)
	cfg := trunkConfig(prov)
	cfg.Trusted = nil
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	alice := newUDPPeer(t)
	registerUser(t, alice, gwAddr, "alice", "alice-secret")

	invite := func(p *udpPeer, callID, did string) {
		p.send(gwAddr, msg(p.addr(), "INVITE sip:"+did+"@"+gwAddr+" SIP/2.0",
			"Via: SIP/2.0/UDP {src};branch=z9hG4bK-"+callID+";rport", "Max-Forwards: 70",
			"From: <sip:+15550199@carrier.test>;tag=c1", "To: <sip:"+did+"@carrier.test>", "Call-ID: "+callID,
			"CSeq: 1 INVITE", "Contact: <sip:+15550199@{src}>", "Content-Length: 0", "", ""))
	}
	invite(prov, "did-1", "+15550100")
	in := recvRequest(t, alice, sip.INVITE)
	if in.Recipient.Host != "127.0.0.1" || !strings.Contains(in.Recipient.String(), alice.addr()) {
		t.Errorf("INVITE to alice at %s, want her contact %s", in.Recipient.String(), alice.addr())
	}
	reply(t, alice, gwAddr, in, 486, "Busy Here", "al1")
	if got := prov.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 486") {
		t.Errorf("provider got %q, want alice's 486", got)
	}

	// A registered trunk's provider sends to our Contact (the account as
	// user) with the DID in To.
	prov.send(gwAddr, msg(prov.addr(), "INVITE sip:acct@"+gwAddr+" SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-did-to;rport", "Max-Forwards: 70",
		"From: <sip:+15550199@carrier.test>;tag=c1", "To: <sip:+15550100@carrier.test>", "Call-ID: did-to",
		"CSeq: 1 INVITE", "Contact: <sip:+15550199@{src}>", "Content-Length: 0", "", ""))
	in = recvRequest(t, alice, sip.INVITE)
	if in.CallID().Value() != "did-to" || !strings.Contains(in.Recipient.String(), alice.addr()) {
		t.Errorf("To-user DID: %s to %s, want did-to to alice", in.CallID().Value(), in.Recipient.String())
	}
	reply(t, alice, gwAddr, in, 486, "Busy Here", "al2")
	if got := prov.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 486") {
		t.Errorf("provider got %q, want alice's 486", got)
	}

	invite(prov, "did-2", "+15550999")
	if got := prov.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 404") {
		t.Errorf("unknown DID: %q, want 404", got)
	}

	other := newUDPPeer(t) // 127.0.0.1: not the trunk
	invite(other, "did-3", "+15550100")
	if got := other.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 407") {
		t.Errorf("another source claiming the DID: %q, want 407", got)
	}
}

// registerUser registers user from peer p over UDP, answering the digest
// challenge (trunk.Credentials computes the answer).
func registerUser(t *testing.T, p *udpPeer, gwAddr, user, password string) {
	t.Helper()
	build := func(cseq int) *sip.Request {
		return parse(t, msg(p.addr(), "REGISTER sip:example.test SIP/2.0",
			"Via: SIP/2.0/UDP {src};branch=z9hG4bK-reg"+itoa(cseq)+";rport", "Max-Forwards: 70",
			"From: <sip:"+user+"@example.test>;tag=r1", "To: <sip:"+user+"@example.test>", "Call-ID: reg-"+user,
			"CSeq: "+itoa(cseq)+" REGISTER", "Contact: <sip:"+user+"@{src}>", "Expires: 600", "Content-Length: 0", "", "")).(*sip.Request)
	}
	req := build(1)
	p.send(gwAddr, req.String())
	s := p.recv(3 * time.Second)
	res, ok := parse(t, s).(*sip.Response)
	if !ok || res.StatusCode != 401 {
		t.Fatalf("REGISTER: %q, want 401", s)
	}
	ch, err := trunk.ParseChallenge(res)
	if err != nil {
		t.Fatal(err)
	}
	req = build(2)
	if err := (trunk.Credentials{Username: user, Password: password}).Authorize(req, ch); err != nil {
		t.Fatal(err)
	}
	p.send(gwAddr, req.String())
	if got := p.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("REGISTER with credentials: %q, want 200", got)
	}
}

// TestTrunkMaxCalls: with max_calls 1 a second call while the first rings
// goes to the route's next target, or gets 503 when there is none; the
// slot is free again once the first call failed.
func TestTrunkMaxCalls(t *testing.T) {
	prov := newProviderPeer(t)
	backup := newUDPPeer(t)
	cfg := trunkConfig(prov)
	c := cfg.Trunks["carrier"]
	c.MaxCalls = 1
	c.Username, c.Password = "", ""
	cfg.Trunks["carrier"] = c
	cfg.Routes = []route.Rule{
		{Match: route.Match{User: `^1`}, To: []string{"trunk:carrier", "sip:" + backup.addr()}},
		{Match: route.Match{User: `^2`}, To: []string{"trunk:carrier"}},
	}
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)
	invite := func(callID, user string) {
		caller.send(gwAddr, msg(caller.addr(), "INVITE sip:"+user+"@example.test SIP/2.0",
			"Via: SIP/2.0/UDP {src};branch=z9hG4bK-"+callID+";rport", "Max-Forwards: 70",
			"From: <sip:alice@example.test>;tag=a1", "To: <sip:"+user+"@example.test>", "Call-ID: "+callID,
			"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", ""))
	}
	invite("mc-1", "1001")
	first := recvRequest(t, prov, sip.INVITE)
	reply(t, prov, gwAddr, first, 180, "Ringing", "p1")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 180") {
		t.Fatalf("first call: %q, want 180", got)
	}
	if n := gw.g.trunks.slots.inUse("carrier"); n != 1 {
		t.Errorf("%d slots in use, want 1", n)
	}
	invite("mc-2", "1002")
	if in := recvRequest(t, backup, sip.INVITE); in.CallID().Value() != "mc-2" {
		t.Errorf("backup got %s", in.CallID().Value())
	} else {
		reply(t, backup, gwAddr, in, 486, "Busy Here", "b2")
	}
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 486") {
		t.Errorf("second call: %q, want the backup's 486", got)
	}
	invite("mc-3", "2003")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 503") {
		t.Errorf("third call, trunk only: %q, want 503", got)
	}
	reply(t, prov, gwAddr, first, 486, "Busy Here", "p1")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 486") {
		t.Errorf("first call: %q, want 486", got)
	}
	for i := 0; gw.g.trunks.slots.inUse("carrier") != 0; i++ {
		if i == 1000 {
			t.Fatal("slot still held 1s after the call failed")
		}
		time.Sleep(time.Millisecond)
	}
	invite("mc-4", "2004")
	if in := recvRequest(t, prov, sip.INVITE); in.CallID().Value() != "mc-4" {
		t.Errorf("provider got %s, want mc-4", in.CallID().Value())
	}
}

// TestTrunkCallsFollowRegistration: a trunk with two URIs whose first does
// not answer REGISTER is registered on the second; calls then go to the
// second first (the server holding the registration).
func TestTrunkCallsFollowRegistration(t *testing.T) {
	silent := newProviderPeer(t) // never answers
	prov := newProviderPeer(t)
	cfg := trunkConfig(prov)
	c := cfg.Trunks["carrier"]
	c.URIs = []string{"sip:" + silent.addr(), "sip:" + prov.addr()}
	c.Register = true
	cfg.Trunks["carrier"] = c
	cfg.TrunkRegistration = trunk.RegistrationConfig{StartDelay: -time.Second, Timeout: 300 * time.Millisecond}
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	reg := recvRequest(t, prov, sip.REGISTER)
	res := sip.NewResponseFromRequest(reg, 200, "OK", nil)
	ct := reg.Contact().Clone()
	ct.Params = sip.NewParams()
	ct.Params.Add("expires", "600")
	res.AppendHeader(ct)
	prov.send(gwAddr, res.String())
	for i := 0; ; i++ {
		st := gw.g.TrunkStatus()
		if len(st) == 1 && st[0].State == trunk.StateRegistered {
			if st[0].Hop.Addr != prov.addr() {
				t.Fatalf("registered on %s, want %s", st[0].Hop.Addr, prov.addr())
			}
			break
		}
		if i == 3000 {
			t.Fatalf("not registered after 3s: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
	list := gw.g.ListTrunks().([]TrunkInfo)
	if len(list) != 1 || list[0].Name != "carrier" || list[0].State != "registered" || list[0].Hop != "udp:"+prov.addr() || list[0].Expires == nil {
		t.Errorf("ListTrunks %+v", list)
	}
	if err := gw.g.Reregister("nope"); !errors.Is(err, trunk.ErrNoTrunk) {
		t.Errorf("Reregister(nope) = %v", err)
	}
	caller := newUDPPeer(t)
	caller.send(gwAddr, msg(caller.addr(), "INVITE sip:+15550199@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-fr1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>", "Call-ID: follow-1",
		"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", ""))
	in := recvRequest(t, prov, sip.INVITE)
	reply(t, prov, gwAddr, in, 486, "Busy Here", "p1")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 486") {
		t.Errorf("caller got %q, want 486 from the registered server", got)
	}
}

// TestTrunkCancelAfterAuth: the caller cancels a call the provider rings
// after its challenge was answered: the CANCEL carries the authenticated
// INVITE's CSeq and Via branch, and the caller gets 200 for its CANCEL
// and 487 with its own CSeq.
func TestTrunkCancelAfterAuth(t *testing.T) {
	prov := newProviderPeer(t)
	pa := providerAuth(t)
	gw := startGW(t, trunkConfig(prov))
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)
	invite := msg(caller.addr(), "INVITE sip:+15550199@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-tc1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>", "Call-ID: trunk-cancel",
		"CSeq: 7 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", "")
	caller.send(gwAddr, invite)
	in := recvRequest(t, prov, sip.INVITE)
	prov.send(gwAddr, pa.Challenge(in, true, false).String())
	in2 := recvRequest(t, prov, sip.INVITE)
	reply(t, prov, gwAddr, in2, 180, "Ringing", "p1")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 180") {
		t.Fatalf("caller got %q, want 180", got)
	}
	caller.send(gwAddr, msg(caller.addr(), "CANCEL sip:+15550199@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-tc1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>", "Call-ID: trunk-cancel",
		"CSeq: 7 CANCEL", "Content-Length: 0", "", ""))
	cancel := recvRequest(t, prov, sip.CANCEL)
	b2, _ := in2.Via().Params.Get("branch")
	bc, _ := cancel.Via().Params.Get("branch")
	if cancel.CSeq().SeqNo != 8 || bc != b2 {
		t.Errorf("CANCEL CSeq %d branch %s, want the authenticated INVITE's 8 and %s", cancel.CSeq().SeqNo, bc, b2)
	}
	reply(t, prov, gwAddr, cancel, 200, "OK", "")
	reply(t, prov, gwAddr, in2, 487, "Request Terminated", "p1")
	got := map[string]bool{}
	for range 2 {
		s := caller.recv(3 * time.Second)
		if s == "" {
			break
		}
		if r, ok := parse(t, s).(*sip.Response); ok {
			got[itoa(r.StatusCode)+" "+r.CSeq().Value()] = true
		}
	}
	if !got["200 7 CANCEL"] || !got["487 7 INVITE"] {
		t.Errorf("caller got %v, want 200 for CANCEL 7 and 487 for INVITE 7", got)
	}
}

// TestTrunkFailover: within the caller's one INVITE, a trunk URI answering
// 503 (after its challenge was answered) or 408 hands the call to the
// next URI.
func TestTrunkFailover(t *testing.T) {
	first, second, third := newProviderPeer(t), newProviderPeer(t), newProviderPeer(t)
	pa := providerAuth(t)
	cfg := trunkConfig(first)
	c := cfg.Trunks["carrier"]
	c.URIs = []string{"sip:" + first.addr(), "sip:" + second.addr(), "sip:" + third.addr()}
	cfg.Trunks["carrier"] = c
	gw := startGW(t, cfg)
	gwAddr := gw.addr["udp"]
	caller := newUDPPeer(t)
	caller.send(gwAddr, msg(caller.addr(), "INVITE sip:+15550199@example.test SIP/2.0",
		"Via: SIP/2.0/UDP {src};branch=z9hG4bK-fo1;rport", "Max-Forwards: 70",
		"From: <sip:alice@example.test>;tag=a1", "To: <sip:+15550199@example.test>", "Call-ID: trunk-failover",
		"CSeq: 1 INVITE", "Contact: <sip:alice@{src}>", "Content-Length: 0", "", ""))
	in := recvRequest(t, first, sip.INVITE)
	first.send(gwAddr, pa.Challenge(in, true, false).String())
	in = recvRequest(t, first, sip.INVITE)
	reply(t, first, gwAddr, in, 503, "Service Unavailable", "f1")
	in = recvRequest(t, second, sip.INVITE)
	if in.GetHeader("Proxy-Authorization") != nil {
		t.Errorf("the second URI got the first one's credentials")
	}
	reply(t, second, gwAddr, in, 408, "Request Timeout", "s1")
	in = recvRequest(t, third, sip.INVITE)
	if want := "sip:+15550199@" + third.addr(); in.Recipient.String() != want {
		t.Errorf("Request-URI %s, want %s", in.Recipient.String(), want)
	}
	reply(t, third, gwAddr, in, 486, "Busy Here", "t1")
	if got := caller.recvStatus(3 * time.Second); !strings.HasPrefix(got, "SIP/2.0 486") {
		t.Errorf("caller got %q, want the last URI's 486", got)
	}
}
