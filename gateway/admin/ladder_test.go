package admin

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/wire"
)

func tapped(callID, first string, src, dst string, sent bool) wire.Tapped {
	return wire.Tapped{Time: time.Now(), Transport: "udp", Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst),
		Sent: sent, Data: []byte(first + "\r\nCall-ID: " + callID + "\r\n\r\n")}
}

func TestRing(t *testing.T) {
	const caller, gwIn, gwOut, callee = "10.0.0.1:5060", "10.0.0.2:5060", "10.0.0.2:5080", "10.0.0.3:5060"
	r := NewRing(2)
	r.Tap(tapped("a", "INVITE sip:b SIP/2.0", caller, gwIn, false))
	r.Tap(tapped("a", "INVITE sip:b SIP/2.0", gwOut, callee, true))
	r.Tap(tapped("a", "SIP/2.0 200 OK", callee, gwOut, false))
	r.Tap(tapped("a", "SIP/2.0 200 OK", gwIn, caller, true))
	r.Tap(wire.Tapped{Data: []byte("\r\n\r\n")}) // no Call-ID: ignored
	r.Record(&cdr.Record{CallID: "a", Disposition: cdr.Answered, Code: 200})
	l, ok := r.Call("a")
	if !ok || len(l.Messages) != 4 || l.Record == nil {
		t.Fatalf("call a: %v %+v", ok, l)
	}
	var cols []string
	for _, c := range l.Columns {
		cols = append(cols, c.Name+fmt.Sprint(c.Addrs))
	}
	if got, want := strings.Join(cols, " "), caller+"["+caller+"] sipedge["+gwIn+" "+gwOut+"] "+callee+"["+callee+"]"; got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	if m := l.Messages[3]; m.FirstLine != "SIP/2.0 200 OK" || !m.Sent || m.Src != gwIn || m.Dst != caller {
		t.Errorf("message 3: %+v", m)
	}
	// Bounded: a third call forgets the oldest; a call keeps at most
	// maxMessagesPerCall messages, each cut at maxMessageBytes.
	// Only an INVITE starts a call: registrations and probes neither
	// enter the ring nor push a call out.
	for i := range 5 {
		r.Tap(tapped(fmt.Sprint("reg", i), "REGISTER sip:x SIP/2.0", caller, gwIn, false))
		r.Tap(tapped(fmt.Sprint("reg", i), "SIP/2.0 200 OK", gwIn, caller, true))
		r.Tap(tapped(fmt.Sprint("opt", i), "OPTIONS sip:x SIP/2.0", gwOut, callee, true))
	}
	if calls := r.Calls(); len(calls) != 1 || calls[0].CallID != "a" {
		t.Fatalf("calls after REGISTERs and OPTIONS %+v, want only a", calls)
	}
	r.Tap(tapped("b", "INVITE sip:x SIP/2.0", caller, gwIn, false))
	big := tapped("c", "INVITE sip:x SIP/2.0", caller, gwIn, false)
	big.Data = append(big.Data, strings.Repeat("x", 2*maxMessageBytes)...)
	for range maxMessagesPerCall + 5 {
		r.Tap(big)
	}
	if _, ok := r.Call("a"); ok {
		t.Errorf("call a still in a ring of 2 after b and c")
	}
	c, _ := r.Call("c")
	if len(c.Messages) != maxMessagesPerCall || len(c.Messages[0].Text) != maxMessageBytes || !c.Messages[0].Truncated {
		t.Errorf("call c: %d messages, first %d bytes", len(c.Messages), len(c.Messages[0].Text))
	}
	calls := r.Calls()
	if len(calls) != 2 || calls[0].CallID != "c" || calls[1].CallID != "b" || calls[1].Messages != 1 {
		t.Errorf("calls %+v", calls)
	}
}
