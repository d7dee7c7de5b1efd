package uac

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

const invite = "INVITE sip:bob@10.0.0.2:5062 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-se-1\r\n" +
	"Via: SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bK-a\r\n" +
	"Route: <sip:10.0.0.9;lr>\r\n" +
	"Route: <sip:10.0.0.8;lr>\r\n" +
	"Max-Forwards: 69\r\n" +
	"From: <sip:alice@example.test>;tag=a1\r\n" +
	"To: <sip:bob@example.test>\r\n" +
	"Call-ID: c1@x\r\n" +
	"CSeq: 7 INVITE\r\n" +
	"Contact: <sip:alice@10.0.0.1:5061>\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestCancelMatchesInvite(t *testing.T) {
	m, err := sip.ParseMessage([]byte(invite))
	if err != nil {
		t.Fatal(err)
	}
	inv := m.(*sip.Request)
	inv.SetTransport("UDP")
	inv.SetDestination("10.0.0.9:5060")
	c := Cancel(inv, 42)
	s := c.String()
	for _, want := range []string{
		"CANCEL sip:bob@10.0.0.2:5062 SIP/2.0\r\n",
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-se-1\r\n",
		"Route: <sip:10.0.0.9;lr>\r\nRoute: <sip:10.0.0.8;lr>\r\n",
		"Max-Forwards: 42\r\n",
		"CSeq: 7 CANCEL\r\n",
		"Call-ID: c1@x\r\n",
		"From: <sip:alice@example.test>;tag=a1\r\n",
		"To: <sip:bob@example.test>\r\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("CANCEL lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "10.0.0.1:5061;branch") || strings.Contains(s, "Contact") {
		t.Errorf("CANCEL carries more than the top Via or a Contact:\n%s", s)
	}
	if c.Destination() != "10.0.0.9:5060" || c.Transport() != "UDP" {
		t.Errorf("sent to %s over %s", c.Destination(), c.Transport())
	}
}

func TestNewDoesNotShareHeaders(t *testing.T) {
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "a", Host: "h"}, Params: sip.NewParams()}
	from.Params.Add("tag", "x")
	req := New(Request{Method: sip.BYE, RURI: sip.Uri{Scheme: "sip", Host: "h"}, From: from,
		To: &sip.ToHeader{Address: sip.Uri{Scheme: "sip", Host: "h"}, Params: sip.NewParams()}, CallID: "c", CSeq: 3, MaxForwards: 70})
	req.From().Params.Add("tag", "changed")
	if tag, _ := from.Params.Get("tag"); tag != "x" {
		t.Fatalf("caller's From changed: tag %q", tag)
	}
	if got := req.CSeq().Value(); got != "3 BYE" {
		t.Fatalf("CSeq %q", got)
	}
	if mf := req.MaxForwards(); mf == nil || mf.Val() != 70 {
		t.Fatalf("Max-Forwards %v", mf)
	}
}
