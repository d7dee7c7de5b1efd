package route

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestMatchFits(t *testing.T) {
	base := Request{Method: "INVITE", User: "0044123", Host: "example.test", FromUser: "alice", FromHost: "example.test",
		Source: netip.MustParseAddr("10.1.2.3"), Transport: "wss",
		Header: func(name string) []string {
			if strings.EqualFold(name, "X-Tenant") {
				return []string{"blue", "green"}
			}
			return nil
		}}
	for _, tc := range []struct {
		name string
		m    Match
		want bool
	}{
		{"empty", Match{}, true},
		{"method", Match{Methods: []string{"MESSAGE", "INVITE"}}, true},
		{"other method", Match{Methods: []string{"MESSAGE"}}, false},
		{"ruri user", Match{User: "^00"}, true},
		{"ruri domain", Match{Domain: `^other\.`}, false},
		{"from user", Match{FromUser: "^ali"}, true},
		{"from domain", Match{FromDomain: `^example\.test$`}, true},
		{"from user no", Match{FromUser: "^bob$"}, false},
		{"source in", Match{Source: []string{"192.0.2.0/24", "10.0.0.0/8"}}, true},
		{"source out", Match{Source: []string{"192.0.2.0/24"}}, false},
		{"source address", Match{Source: []string{"10.1.2.3"}}, true},
		{"transport", Match{Transports: []string{"ws", "WSS"}}, true},
		{"transport no", Match{Transports: []string{"udp"}}, false},
		{"header present", Match{Headers: map[string]string{"x-tenant": ""}}, true},
		{"header value", Match{Headers: map[string]string{"X-Tenant": "^green$"}}, true},
		{"header value no", Match{Headers: map[string]string{"X-Tenant": "^red$"}}, false},
		{"header missing", Match{Headers: map[string]string{"X-Other": ""}}, false},
		{"absent ok", Match{Absent: []string{"X-Other"}}, true},
		{"absent no", Match{Absent: []string{"X-Tenant"}}, false},
		{"all", Match{Methods: []string{"INVITE"}, User: "^00", Source: []string{"10.0.0.0/8"}, Transports: []string{"wss"}, Headers: map[string]string{"X-Tenant": "blue"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.m.compile()
			if err != nil {
				t.Fatal(err)
			}
			if got := c.fits(base); got != tc.want {
				t.Fatalf("fits = %v, want %v", got, tc.want)
			}
		})
	}
	c, _ := Match{Source: []string{"10.0.0.0/8"}}.compile()
	if c.fits(Request{}) {
		t.Fatal("a source match fitted a request of unknown source")
	}
}

func TestMatchValidate(t *testing.T) {
	err := Match{User: "(", FromDomain: "[", Methods: []string{"invite"}, Source: []string{"10.0.0.0/33"},
		Transports: []string{"sctp"}, Headers: map[string]string{"a b": "", "X-A": "("}, Absent: []string{""}}.Validate()
	for _, want := range []string{"user ((): bad regular expression", "from_domain ([): bad regular expression",
		"methods[0] (invite)", "source[0] (10.0.0.0/33)", "transports[0] (sctp)", "headers.a b", "headers.X-A (()", "absent[0]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := (Match{User: "^9", Source: []string{"::1"}, Transports: []string{"WS"}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		name, user string
		a          Actions
		want       string
	}{
		{"strip and prefix", "0044123", Actions{Strip: 2, Prefix: "+"}, "+44123"},
		{"prefix only", "123", Actions{Prefix: "9"}, "9123"},
		{"strip all", "12", Actions{Strip: 5}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: tc.user, Host: "example.test"})
			tc.a.Apply(r)
			if r.Recipient.User != tc.want {
				t.Fatalf("user %q, want %q", r.Recipient.User, tc.want)
			}
		})
	}
	r := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "1", Host: "example.test"})
	r.AppendHeader(sip.NewHeader("X-Internal", "a"))
	r.AppendHeader(sip.NewHeader("x-internal", "b"))
	r.AppendHeader(sip.NewHeader("X-Keep", "c"))
	a := &Actions{Remove: []string{"X-INTERNAL"}, Add: []string{"X-Added: yes", "X-Two:2"}}
	a.Apply(r)
	if len(r.GetHeaders("X-Internal"))+len(r.GetHeaders("x-internal")) != 0 || r.GetHeader("X-Keep") == nil {
		t.Fatalf("remove: %v", r.Headers())
	}
	if h := r.GetHeader("X-Added"); h == nil || h.Value() != "yes" {
		t.Fatalf("add: %v", r.Headers())
	}
	if h := r.GetHeader("X-Two"); h == nil || h.Value() != "2" {
		t.Fatalf("add: %v", r.Headers())
	}
	var none *Actions
	none.Apply(r) // nil: nothing
}

func TestActionsValidate(t *testing.T) {
	err := Actions{Strip: -1, Prefix: "+4a", Remove: []string{"Via", "bad name"}, Add: []string{"nocolon", "Call-ID: x", "X-A: b\r\nVia: c"}}.Validate()
	for _, want := range []string{"strip (-1)", "prefix (+4a)", "remove_headers[0] (Via): the proxy needs", "remove_headers[1]",
		"add_headers[0] (nocolon)", "add_headers[1] (Call-ID: x): the proxy sets", "add_headers[2]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := (Actions{Strip: 1, Prefix: "+44", Remove: []string{"X-A"}, Add: []string{"X-B: c"}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRouteDecision(t *testing.T) {
	tab, err := NewTable([]Rule{
		{Match: Match{Methods: []string{"MESSAGE"}}, To: []string{"sip:10.0.0.1"}},
		{Match: Match{User: "^9"}, Actions: Actions{Strip: 1}, To: []string{"sip:10.0.0.9"},
			API: &API{URL: "http://127.0.0.1:1/route", Failover: []string{"486"}}},
		{To: []string{"sip:10.0.0.2"}, FRTimer: 1500000000},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := tab.Route(Request{Method: "MESSAGE", User: "9"})
	if !ok || d.Rule != 0 || d.API != nil {
		t.Fatalf("MESSAGE: %+v", d)
	}
	d, _ = tab.Route(Request{Method: "INVITE", User: "900"})
	if d.Rule != 1 || d.API == nil || d.API.Timeout == 0 || d.Actions == nil || d.Actions.Strip != 1 {
		t.Fatalf("INVITE 900: %+v", d)
	}
	if !d.API.Failed(486) || d.API.Failed(503) {
		t.Fatal("api.failover [486] not applied")
	}
	d, _ = tab.Route(Request{Method: "OPTIONS", User: "900"})
	if d.Rule != 1 || d.API != nil {
		t.Fatalf("OPTIONS 900: the API is for INVITE only by default: %+v", d)
	}
	d, _ = tab.Route(Request{Method: "INVITE", User: "alice"})
	if d.Rule != 2 || d.Groups[0][0].FRTimer != 1500000000 || d.Actions != nil {
		t.Fatalf("alice: %+v", d)
	}
}
