package dialog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
)

func leg(user, host string, fromTag, toTag string) *Leg {
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "other", Host: "example.test"}, Params: sip.NewParams()}
	from.Params.Add("tag", fromTag)
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "example.test"}, Params: sip.NewParams()}
	to.Params.Add("tag", toTag)
	return &Leg{Target: route.Target{Transport: "udp", Addr: host + ":5060"}, RURI: sip.Uri{Scheme: "sip", User: user, Host: host},
		From: from, To: to}
}

// TestForkedTwoOK: the two 2xx of a forked INVITE are two dialogs; a BYE
// from each callee (tags the other way round) ends its own.
func TestForkedTwoOK(t *testing.T) {
	tab := NewTable()
	now := time.Now()
	d1 := New(Key{"c1", "caller", "callee1"}, 1, now)
	d2 := New(Key{"c1", "caller", "callee2"}, 1, now)
	tab.Add(d1)
	tab.Add(d2)
	if tab.Len() != 2 {
		t.Fatalf("Len = %d, want 2", tab.Len())
	}
	got, others := tab.Remove("c1", "callee2", "caller") // BYE from callee 2
	if got != d2 || !others {
		t.Fatalf("Remove = %v, others %v; want d2 and others", got, others)
	}
	got, others = tab.Remove("c1", "caller", "callee1") // BYE from the caller to callee 1
	if got != d1 || others {
		t.Fatalf("Remove = %v, others %v; want d1 and no others", got, others)
	}
	if got, _ := tab.Remove("c1", "caller", "callee1"); got != nil {
		t.Fatal("second BYE found a dialog")
	}
	if tab.Len() != 0 {
		t.Fatalf("Len = %d after both BYEs", tab.Len())
	}
}

func TestByeUsesNextCSeq(t *testing.T) {
	tab := NewTable()
	d := New(Key{"c2", "a", "b"}, 10, time.Now())
	d.Legs = [2]*Leg{leg("alice", "10.0.0.1", "b", "a"), leg("bob", "10.0.0.2", "a", "b")}
	tab.Add(d)
	tab.SawRequest("c2", "a", "b", 12) // re-INVITE from the caller
	tab.SawRequest("c2", "b", "a", 3)  // INFO from the callee
	tab.SawRequest("c2", "a", "b", 11) // reordered: no effect
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "127.0.0.1", Port: 5060, Params: sip.NewParams()}
	toCallee := tab.Bye(d, Callee, via, 70)
	if got := toCallee.CSeq().Value(); got != "13 BYE" {
		t.Fatalf("BYE to the callee: CSeq %q, want 13 BYE (caller's next)", got)
	}
	toCaller := tab.Bye(d, Caller, via.Clone(), 70)
	if got := toCaller.CSeq().Value(); got != "4 BYE" {
		t.Fatalf("BYE to the caller: CSeq %q, want 4 BYE (callee's next)", got)
	}
	if toCaller.Recipient.User != "alice" || !strings.Contains(toCaller.To().Value(), "tag=a") {
		t.Fatalf("BYE to the caller: %s", toCaller.StartLine())
	}
	d.Legs[Caller] = nil
	if tab.Bye(d, Caller, via, 70) != nil {
		t.Fatal("BYE built for a party without a leg")
	}
}

func TestTakeFlowAndExpired(t *testing.T) {
	tab := NewTable()
	old := New(Key{"c3", "a", "b"}, 1, time.Now().Add(-2*time.Hour))
	ws := New(Key{"c4", "a", "b"}, 1, time.Now())
	ws.Flows = []string{"f1"}
	plain := New(Key{"c5", "a", "b"}, 1, time.Now())
	for _, d := range []*Dialog{old, ws, plain} {
		tab.Add(d)
	}
	if got := tab.TakeFlow("f1"); len(got) != 1 || got[0] != ws {
		t.Fatalf("TakeFlow = %v", got)
	}
	if got := tab.TakeExpired(time.Now().Add(-time.Hour)); len(got) != 1 || got[0] != old {
		t.Fatalf("TakeExpired = %v", got)
	}
	if got := tab.TakeAll(); len(got) != 1 || got[0] != plain {
		t.Fatalf("TakeAll = %v", got)
	}
	if tab.Len() != 0 {
		t.Fatal("table not empty")
	}
}

func TestHop(t *testing.T) {
	parse := func(s string) *sip.Request {
		m, err := sip.ParseMessage([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return m.(*sip.Request)
	}
	base := "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
	alive := func(id string) bool { return id == "up" }
	for _, tc := range []struct {
		name   string
		req    string
		flows  []string
		in     string
		want   string
		status int
	}{
		{"flow named in our route", "BYE sip:b@x.invalid;transport=ws SIP/2.0\r\n" + base, []string{"in", "up"}, "in", "flow up", 0},
		{"flow gone", "BYE sip:b@x.invalid;transport=ws SIP/2.0\r\n" + base, []string{"down"}, "", "", 430},
		{"top route", "BYE sip:b@10.0.0.2 SIP/2.0\r\nRoute: <sip:10.0.0.9:5070;lr;transport=tcp>\r\n" + base, nil, "", "tcp 10.0.0.9:5070", 0},
		{"alias", "BYE sip:b@192.168.0.2;alias=198.51.100.1~4000~udp SIP/2.0\r\n" + base, nil, "", "udp 198.51.100.1:4000", 0},
		{"request-uri", "BYE sip:b@10.0.0.2:5062 SIP/2.0\r\n" + base, nil, "", "udp 10.0.0.2:5062", 0},
		{"browser contact without flow", "BYE sip:b@x.invalid SIP/2.0\r\n" + base, nil, "", "", 480},
		{"websocket uri without flow", "BYE sip:b@x.invalid;transport=ws SIP/2.0\r\n" + base, nil, "", "", 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := Hop(parse(tc.req), tc.flows, tc.in, alive)
			if tc.status != 0 {
				var se *status.Error
				if !errors.As(err, &se) || se.Code != tc.status {
					t.Fatalf("err = %v, want %d", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := tg.Transport + " " + tg.Addr
			if tg.Flow != "" {
				got = "flow " + tg.Flow
			}
			if got != tc.want {
				t.Fatalf("hop %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCallerShift(t *testing.T) {
	tb := NewTable()
	d := &Dialog{Key: Key{CallID: "c1", CallerTag: "a", CalleeTag: "b"}}
	tb.Add(d)
	tb.AddCallerShift("c1", "a", "b", 1)
	tb.AddCallerShift("c1", "b", "a", 5) // the callee's requests are never shifted
	tb.AddCallerShift("nope", "a", "b", 7)
	if got := tb.CallerShift("c1", "a", "b"); got != 1 {
		t.Errorf("caller shift %d, want 1", got)
	}
	if got := tb.CallerShift("c1", "b", "a"); got != 0 {
		t.Errorf("callee shift %d, want 0", got)
	}
}
