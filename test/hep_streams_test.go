package test

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestHEPCaptureStreams: a call whose legs run over TLS (a sipgo caller
// into sipedge's tls listener) and TCP (sipedge dials a SIPp UAS) is
// captured whole: every message of both legs, each direction, in order,
// with the connection's real addresses and ports, IP protocol TCP, and
// the Call-ID as correlation id; decoded here field by field.
func TestHEPCaptureStreams(t *testing.T) {
	col := startHEPCollector(t, "udp")
	certFile, keyFile, pool := writeTestCert(t, t.TempDir())
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Transport: "tcp", Calls: 1})
	cfg := callConfig(sipURI(uas.Port, "tcp"))
	cfg.Listen = []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0", "tls://127.0.0.1:0"}
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.HEP = map[string]any{"address": col.Addr, "transport": "udp", "capture_id": 77}
	gw := startSipedge(t, cfg)
	gwTLS := netip.MustParseAddrPort(gw.Addr(t, "tls"))
	sippAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(uas.Port))

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("tls-uac"),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	params := sip.NewParams()
	params.Add("transport", "tls")
	dc := sipgo.NewDialogClientCache(client, sip.ContactHeader{Address: sip.Uri{User: "tls-uac", Host: "127.0.0.1", UriParams: params}})
	var target sip.Uri
	if err := sip.ParseUri(fmt.Sprintf("sip:15551234@%s;transport=tls", gwTLS), &target); err != nil {
		t.Fatal(err)
	}
	sdp := []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	ctx := withTimeout(t, 15*time.Second)
	before := time.Now()
	sess, err := dc.Invite(ctx, target, sdp, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatalf("INVITE over TLS: %v", err)
	}
	got180 := false
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
		got180 = got180 || res.StatusCode == 180
		return nil
	}}); err != nil {
		t.Fatalf("waiting for 200: %v", err)
	}
	if err := sess.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	pause(100 * time.Millisecond) // the ACK reaches SIPp before the BYE
	if err := sess.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	_ = sess.Close()
	uas.expectAllSuccessful(t, 1)
	callID := sess.InviteRequest.CallID().Value()

	const C, G, GO, U = "caller", "gw-tls", "gw-out", "sipp"
	invite := "INVITE sip:15551234@" + gwTLS.String() + ";transport=tls SIP/2.0"
	type hop struct{ from, to, line string }
	wantTLS := []hop{
		{C, G, invite},
		{G, C, "SIP/2.0 100 Trying"},
		{G, C, "SIP/2.0 180 Ringing"},
		{G, C, "SIP/2.0 200 OK"},
		{C, G, "ACK"},
		{C, G, "BYE"},
		{G, C, "SIP/2.0 200 OK"},
	}
	if !got180 {
		wantTLS = slices.Delete(wantTLS, 2, 3) // the known relay race: the 180 came with the 200
	}
	wantTCP := []hop{
		{GO, U, "INVITE"},
		{U, GO, "SIP/2.0 100 Trying"},
		{U, GO, "SIP/2.0 180 Ringing"},
		{U, GO, "SIP/2.0 200 OK"},
		{GO, U, "ACK"},
		{GO, U, "BYE"},
		{U, GO, "SIP/2.0 200 OK"},
	}
	var pkts []hepPacket
	for deadline := time.Now().Add(3 * time.Second); ; pause(20 * time.Millisecond) {
		if pkts = col.packets(callID); len(pkts) >= len(wantTLS)+len(wantTCP) || time.Now().After(deadline) {
			break
		}
	}
	after := time.Now()
	// The caller's and the gateway's ephemeral ports: one each, the same in
	// both directions.
	var callerPort, outPort netip.AddrPort
	var gotTLS, gotTCP []hop
	for _, p := range pkts {
		line := firstLine(p.Payload)
		if !strings.HasPrefix(line, "SIP/2.0") {
			line, _, _ = strings.Cut(line, " ")
			if strings.HasPrefix(p.Payload, "INVITE") && (p.Src == gwTLS || p.Dst == gwTLS) {
				line = firstLine(p.Payload)
			}
		}
		if p.Proto != 6 || p.Family != 2 || p.ProtoType != 1 || p.CaptureID != 77 {
			t.Errorf("%q: proto %d family %d type %d capture id %d, want 6 2 1 77", line, p.Proto, p.Family, p.ProtoType, p.CaptureID)
		}
		if p.Time.Before(before) || p.Time.After(after) {
			t.Errorf("%q: time %v outside the call [%v, %v]", line, p.Time, before, after)
		}
		other := func(peer *netip.AddrPort, a netip.AddrPort) string {
			if !peer.IsValid() {
				*peer = a
			}
			if a != *peer {
				return a.String()
			}
			return ""
		}
		switch {
		case p.Src == gwTLS:
			gotTLS = append(gotTLS, hop{G, C + other(&callerPort, p.Dst), line})
		case p.Dst == gwTLS:
			gotTLS = append(gotTLS, hop{C + other(&callerPort, p.Src), G, line})
		case p.Dst == sippAddr:
			gotTCP = append(gotTCP, hop{GO + other(&outPort, p.Src), U, line})
		case p.Src == sippAddr:
			gotTCP = append(gotTCP, hop{U, GO + other(&outPort, p.Dst), line})
		default:
			t.Errorf("%q: %v -> %v is neither leg", line, p.Src, p.Dst)
		}
	}
	if !slices.Equal(gotTLS, wantTLS) {
		t.Errorf("TLS leg captured:\n%v\nwant\n%v", gotTLS, wantTLS)
	}
	if !slices.Equal(gotTCP, wantTCP) {
		t.Errorf("TCP leg captured:\n%v\nwant\n%v", gotTCP, wantTCP)
	}
	if callerPort.Addr() != gwTLS.Addr() || callerPort.Port() == gwTLS.Port() || outPort.Port() == gwTLS.Port() || outPort.Port() == 0 {
		t.Errorf("caller %v, gateway's outbound end %v: want 127.0.0.1 ephemeral ports", callerPort, outPort)
	}
	// The payload is the message as on the wire, body included.
	for _, p := range pkts {
		if strings.HasPrefix(p.Payload, "INVITE") && !strings.HasSuffix(p.Payload, "a=rtpmap:0 PCMU/8000\r\n") {
			t.Errorf("captured INVITE lacks its SDP:\n%s", p.Payload)
		}
	}
}
