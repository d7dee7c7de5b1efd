package topo

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// inside lists what must never be shown outside in the testdata messages.
var inside = []string{"10.1.1.", "inside.lan"}

func read(t *testing.T, name string) sip.Message {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sip.ParseMessage(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func newHider(t *testing.T) *Hider {
	t.Helper()
	h, err := New("a test secret of enough bytes")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func external(u sip.Uri) bool {
	tp, _ := u.UriParams.Get("transport")
	return u.Host == "127.0.0.1" && u.Port == 5060 && tp == "udp"
}

var self = sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: 5060, UriParams: sip.HeaderParams{{K: "transport", V: "udp"}}}

func assertHidden(t *testing.T, what, msg string) {
	t.Helper()
	for _, s := range inside {
		if strings.Contains(msg, s) {
			t.Errorf("%s shows %q:\n%s", what, s, msg)
		}
	}
}

func routes(hs []sip.Header) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Value())
	}
	return out
}

// TestRequestFromInside hides an INVITE toward the outside, then restores
// the outside party's in-dialog request built from it (RFC 3261 §12.1.1:
// route set = Record-Route in order, remote target = Contact).
func TestRequestFromInside(t *testing.T) {
	h := newHider(t)
	req := read(t, "invite-from-inside.sip").(*sip.Request)
	vias := StripVias(req)
	h.HideContacts(req, self)
	h.HideRecordRoutes(req, external, false)
	assertHidden(t, "INVITE", req.String())
	if len(vias) != 2 || len(req.GetHeaders("Via")) != 1 {
		t.Fatalf("vias stripped %d, left %d", len(vias), len(req.GetHeaders("Via")))
	}
	if c := req.Contact(); c == nil || c.Params.GetOr("expires", "") != "60" || !c.Address.UriParams.Has(ContactParam) {
		t.Fatalf("contact %v", c)
	}

	// The BYE the outside party sends back.
	bye := sip.NewRequest(sip.BYE, req.Contact().Address)
	for _, rr := range req.GetHeaders("Record-Route") {
		bye.AppendHeader(&sip.RouteHeader{Address: rr.(*sip.RecordRouteHeader).Address})
	}
	if !h.Restore(bye) {
		t.Fatal("Restore found nothing")
	}
	if got, want := bye.Recipient.String(), "sip:alice@pbx.inside.lan:5070;transport=udp;alias=10.1.1.3~5070~1"; got != want {
		t.Errorf("Request-URI %s, want %s", got, want)
	}
	want := []string{"<sip:127.0.0.1:5060;transport=udp;lr>", "<sip:10.1.1.1:5060;transport=tcp;lr>", "<sip:proxy.inside.lan;lr>"}
	if got := routes(bye.GetHeaders("Route")); !slices.Equal(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}

	// The 200 the outside party answers: Record-Route copied from the
	// INVITE; relayed inside, it gets the inside entries back.
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	h.RestoreRecordRoutes(res)
	want = []string{"<sip:127.0.0.1:5060;transport=udp;lr>", "<sip:10.1.1.1:5060;transport=tcp;lr>", "<sip:proxy.inside.lan;lr>"}
	if got := routes(res.GetHeaders("Record-Route")); !slices.Equal(got, want) {
		t.Errorf("record-routes %q, want %q", got, want)
	}
	RestoreVias(res, vias)
	if n := len(res.GetHeaders("Via")); n != 3 {
		t.Errorf("%d Vias after restore, want 3", n)
	}
}

// TestResponseFromInside hides a 200 relayed toward the caller outside.
func TestResponseFromInside(t *testing.T) {
	h := newHider(t)
	res := read(t, "ok-from-inside.sip").(*sip.Response)
	h.HideContacts(res, self)
	h.HideRecordRoutes(res, external, true)
	assertHidden(t, "200", res.String())
	want := []string{"<sip:127.0.0.1:5060;transport=udp;lr;th=", "<sip:edge.carrier.example;lr>"}
	got := routes(res.GetHeaders("Record-Route"))
	if len(got) != 2 || !strings.HasPrefix(got[0], want[0]) || got[1] != want[1] {
		t.Fatalf("record-routes %q", got)
	}
	// The caller's route set is the Record-Route list reversed.
	ack := sip.NewRequest(sip.ACK, res.Contact().Address)
	rrs := res.GetHeaders("Record-Route")
	for i := len(rrs) - 1; i >= 0; i-- {
		ack.AppendHeader(&sip.RouteHeader{Address: rrs[i].(*sip.RecordRouteHeader).Address})
	}
	ack.RemoveHeader("Route") // edge.carrier.example took its own
	h.Restore(ack)
	want = []string{"<sip:127.0.0.1:5060;transport=udp;lr>", "<sip:10.1.1.1:5060;transport=tcp;lr>", "<sip:proxy.inside.lan;lr>"}
	if got := routes(ack.GetHeaders("Route")); !slices.Equal(got, want) {
		t.Errorf("routes %q, want %q", got, want)
	}
	if got := ack.Recipient.String(); got != "sip:dave@10.1.1.3:5070;transport=tcp" {
		t.Errorf("Request-URI %s", got)
	}
}

func TestOpen(t *testing.T) {
	h, other := newHider(t), newHider(t)
	rnd, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	tok := h.Seal([]string{"sip:a@10.0.0.1", "sip:b@10.0.0.2;lr"})
	next, err := h.Rekey("the next secret of enough bytes")
	if err != nil {
		t.Fatal(err)
	}
	after, err := next.Rekey("")
	if err != nil {
		t.Fatal(err)
	}
	fresh := next.Seal([]string{"sip:c@10.0.0.3", "sip:d@10.0.0.4;lr"})
	tests := []struct {
		name string
		h    *Hider
		tok  string
		ok   bool
	}{
		{"same key", h, tok, true},
		{"same secret", other, tok, true},
		{"random key", rnd, tok, false},
		{"rekeyed: the previous key's token", next, tok, true},
		{"rekeyed: its own token", next, fresh, true},
		{"rekeyed: the old key does not open the new token", h, fresh, false},
		{"rekeyed twice: one key back opens", after, fresh, true},
		{"rekeyed twice: two keys back does not", after, tok, false},
		{"tampered", h, tok[:len(tok)-2] + "AA", false},
		{"short", h, "abc", false},
		{"not base64", h, "!!!", false},
		{"empty", h, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals, err := tt.h.Open(tt.tok)
			if (err == nil) != tt.ok {
				t.Fatalf("Open: %v", err)
			}
			if tt.ok && len(vals) != 2 {
				t.Fatalf("vals %q", vals)
			}
		})
	}
	if _, err := New("short"); err == nil {
		t.Error("New accepted a 5-byte secret")
	}
}

func FuzzOpen(f *testing.F) {
	h, err := New("a fuzz secret of enough bytes")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(h.Seal([]string{"sip:a@10.0.0.1"}))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		vals, err := h.Open(tok)
		if err != nil {
			return
		}
		if got, err := h.Open(h.Seal(vals)); err != nil || !slices.Equal(got, vals) {
			t.Fatalf("reseal: %q, %v (was %q)", got, err, vals)
		}
	})
}
