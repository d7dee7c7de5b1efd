package registrar

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testConfig() Config {
	return Config{MinExpires: 60 * time.Second, MaxExpires: 3600 * time.Second, DefaultExpires: 1200 * time.Second, MaxContacts: 5}
}

// edit changes a sample's text before parsing: set replaces every line of
// header name (or adds one before Content-Length) with value; an empty
// value deletes the header.
type edit struct{ name, value string }

// sample reads testdata/name, applies edits and parses it with sipgo.
func sample(t testing.TB, name string, edits ...edit) *sip.Request {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), "\n")
	for _, e := range edits {
		var out []string
		done := false
		for _, l := range lines {
			if strings.HasPrefix(strings.ToLower(l), strings.ToLower(e.name)+":") {
				if !done && e.value != "" {
					out = append(out, e.name+": "+e.value)
				}
				done = true
				continue
			}
			if !done && strings.HasPrefix(l, "Content-Length:") && e.value != "" {
				out = append(out, e.name+": "+e.value)
				done = true
			}
			out = append(out, l)
		}
		lines = out
	}
	raw := strings.Join(lines, "\r\n") + "\r\n\r\n"
	msg, err := sip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", name, err, raw)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("%s is not a request", name)
	}
	return req
}

var (
	udp  = Source{Addr: "127.0.0.1:5070", Transport: "udp"}
	tcp  = Source{Addr: "198.51.100.7:40112", Transport: "tcp", FlowID: "tcp-1"}
	ws1  = Source{Addr: "203.0.113.5:51000", Transport: "wss", FlowID: "ws-1"}
	ws2  = Source{Addr: "203.0.113.5:51999", Transport: "wss", FlowID: "ws-2"}
	jsID = "<urn:uuid:d6b8b1d0-6bda-4e2b-8a1d-3b2f2b6a4f10>"
)

// step is one REGISTER (or other action) in a scenario.
type step struct {
	file  string
	edits []edit
	aor   string        // default alice@example.com
	src   Source        // default udp
	at    time.Duration // since t0
	err   error         // expected (errors.Is)
	want  []string      // summaries of the returned bindings, in order
}

// summary renders a binding for comparison.
func summary(b Binding, now time.Time) string {
	s := fmt.Sprintf("%s q=%.1f exp=%d", b.Contact.String(), b.Q, ExpiresFor(b, now))
	if b.Source.FlowID != "" {
		s += " flow=" + b.Source.FlowID
	}
	return s
}

func runSteps(t *testing.T, r *Registrar, steps []step) {
	t.Helper()
	for i, s := range steps {
		aor := s.aor
		if aor == "" {
			aor = "alice@example.com"
		}
		src := s.src
		if src == (Source{}) {
			src = udp
		}
		now := t0.Add(s.at)
		got, err := r.Register(sample(t, s.file, s.edits...), aor, src, now)
		if !errors.Is(err, s.err) {
			t.Fatalf("step %d (%s): err %v, want %v", i, s.file, err, s.err)
		}
		if err != nil {
			continue
		}
		var sums []string
		for _, b := range got {
			sums = append(sums, summary(b, now))
		}
		if strings.Join(sums, "\n") != strings.Join(s.want, "\n") {
			t.Fatalf("step %d (%s): bindings\n%s\nwant\n%s", i, s.file, strings.Join(sums, "\n"), strings.Join(s.want, "\n"))
		}
	}
}

func TestRegister(t *testing.T) {
	sipp := "sip:alice@127.0.0.1:5070 q=1.0"
	tests := []struct {
		name  string
		steps []step
	}{
		{"SIPp UDP register and refresh", []step{
			{file: "sipp_udp.sip", want: []string{sipp + " exp=3600"}},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "2 REGISTER"}, {"Expires", "600"}}, at: time.Minute, want: []string{sipp + " exp=600"}},
		}},
		{"same Call-ID, CSeq not higher", []step{
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "5 REGISTER"}}, want: []string{sipp + " exp=3600"}},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "5 REGISTER"}}, err: ErrOutOfOrder},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "4 REGISTER"}}, err: ErrOutOfOrder},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "6 REGISTER"}, {"Expires", "300"}}, want: []string{sipp + " exp=300"}},
		}},
		{"new Call-ID may have a lower CSeq", []step{
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "50 REGISTER"}}, want: []string{sipp + " exp=3600"}},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "1 REGISTER"}, {"Call-ID", "other@127.0.0.1"}, {"Expires", "120"}}, want: []string{sipp + " exp=120"}},
		}},
		{"expiry rules", []step{
			{file: "sipp_udp.sip", edits: []edit{{"Expires", "30"}}, err: ErrIntervalTooBrief},
			{file: "sipp_udp.sip", edits: []edit{{"Expires", "99999999999"}}, want: []string{sipp + " exp=3600"}},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "2 REGISTER"}, {"Expires", ""}}, want: []string{sipp + " exp=1200"}},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "3 REGISTER"}, {"Contact", "<sip:alice@127.0.0.1:5070>;expires=90"}}, want: []string{sipp + " exp=90"}},
			{file: "sipp_udp.sip", edits: []edit{{"CSeq", "4 REGISTER"}, {"Contact", "<sip:alice@127.0.0.1:5070>;expires=0"}, {"Expires", "600"}}},
		}},
		{"expires=0 removes only that contact", []step{
			{file: "multi_q.sip", want: []string{
				"sip:carol@192.0.2.23:5060 q=1.0 exp=1800",
				"sip:carol@192.0.2.21:5060 q=0.9 exp=120",
				"sip:carol@192.0.2.20:5060 q=0.5 exp=1800",
				"sip:carol@192.0.2.22:5060 q=0.1 exp=1800",
			}},
			{file: "multi_q.sip", edits: []edit{{"CSeq", "8 REGISTER"}, {"Contact", "<sip:carol@192.0.2.21:5060>;expires=0, <sip:CAROL@192.0.2.99>;expires=0"}}, want: []string{
				"sip:carol@192.0.2.23:5060 q=1.0 exp=1800",
				"sip:carol@192.0.2.20:5060 q=0.5 exp=1800",
				"sip:carol@192.0.2.22:5060 q=0.1 exp=1800",
			}},
		}},
		{"contact URI compared per RFC 3261 19.1.4", []step{
			{file: "sipp_udp.sip", want: []string{sipp + " exp=3600"}},
			{file: "sipp_udp.sip", edits: []edit{{"Call-ID", "x2"}, {"Contact", "<SIP:alice@127.0.0.1:5070;foo=bar>"}}, want: []string{"sip:alice@127.0.0.1:5070;foo=bar q=1.0 exp=3600"}},
			{file: "sipp_udp.sip", at: time.Second, edits: []edit{{"Call-ID", "x3"}, {"Contact", "<sip:alice@127.0.0.1:5070;transport=tcp>"}}, want: []string{
				"sip:alice@127.0.0.1:5070;transport=tcp q=1.0 exp=3600",
				"sip:alice@127.0.0.1:5070;foo=bar q=1.0 exp=3599",
			}},
		}},
		{"one request names the same contact twice", []step{
			{file: "sipp_udp.sip", edits: []edit{{"Contact", "<sip:alice@127.0.0.1:5070>;expires=100, <sip:alice@127.0.0.1:5070>;expires=200"}}, want: []string{sipp + " exp=200"}},
		}},
		{"JsSIP over WebSocket, reconnect on a new flow, unregister", []step{
			{file: "jssip_ws.sip", src: ws1, want: []string{"sip:8ul4dr6k@5qb2v0j6d4te.invalid;transport=ws q=1.0 exp=600 flow=ws-1"}},
			{file: "jssip_ws_reconnect.sip", src: ws2, at: 10 * time.Second, want: []string{"sip:p7r2mz01@h2k9a1b0c3de.invalid;transport=ws q=1.0 exp=600 flow=ws-2"}},
			{file: "jssip_ws_unregister.sip", src: ws2, at: 20 * time.Second},
		}},
		{"outbound: a second reg-id is a second binding", []step{
			{file: "jssip_ws.sip", src: ws1, want: []string{"sip:8ul4dr6k@5qb2v0j6d4te.invalid;transport=ws q=1.0 exp=600 flow=ws-1"}},
			{file: "jssip_ws.sip", src: ws2, at: time.Second, edits: []edit{{"CSeq", "3 REGISTER"}, {"Contact", `<sip:8ul4dr6k@5qb2v0j6d4te.invalid;transport=ws>;reg-id=2;+sip.instance="` + jsID + `"`}}, want: []string{
				"sip:8ul4dr6k@5qb2v0j6d4te.invalid;transport=ws q=1.0 exp=600 flow=ws-2",
				"sip:8ul4dr6k@5qb2v0j6d4te.invalid;transport=ws q=1.0 exp=599 flow=ws-1",
			}},
		}},
		{"Path and display name", []step{
			{file: "path.sip", aor: "bob@example.com", src: tcp, want: []string{"sip:bob@192.0.2.10:40112;transport=tcp q=1.0 exp=3600 flow=tcp-1"}},
		}},
		{"star removes all", []step{
			{file: "multi_q.sip", aor: "carol@example.com", want: []string{
				"sip:carol@192.0.2.23:5060 q=1.0 exp=1800",
				"sip:carol@192.0.2.21:5060 q=0.9 exp=120",
				"sip:carol@192.0.2.20:5060 q=0.5 exp=1800",
				"sip:carol@192.0.2.22:5060 q=0.1 exp=1800",
			}},
			{file: "star.sip", aor: "carol@example.com", edits: []edit{{"CSeq", "7 REGISTER"}}, err: ErrOutOfOrder},
			{file: "star.sip", aor: "carol@example.com", edits: []edit{{"Expires", "10"}}, err: ErrBadContact},
			{file: "star.sip", aor: "carol@example.com", edits: []edit{{"Expires", ""}}, err: ErrBadContact},
			{file: "star.sip", aor: "carol@example.com", edits: []edit{{"Contact", "*, <sip:carol@192.0.2.30>"}}, err: ErrBadContact},
			{file: "query.sip", aor: "carol@example.com", want: []string{
				"sip:carol@192.0.2.23:5060 q=1.0 exp=1800",
				"sip:carol@192.0.2.21:5060 q=0.9 exp=120",
				"sip:carol@192.0.2.20:5060 q=0.5 exp=1800",
				"sip:carol@192.0.2.22:5060 q=0.1 exp=1800",
			}},
			{file: "star.sip", aor: "carol@example.com"},
			{file: "query.sip", aor: "carol@example.com"},
		}},
		{"too many contacts", []step{
			{file: "multi_q.sip", want: []string{
				"sip:carol@192.0.2.23:5060 q=1.0 exp=1800",
				"sip:carol@192.0.2.21:5060 q=0.9 exp=120",
				"sip:carol@192.0.2.20:5060 q=0.5 exp=1800",
				"sip:carol@192.0.2.22:5060 q=0.1 exp=1800",
			}},
			{file: "sipp_udp.sip", at: time.Second, want: []string{
				sipp + " exp=3600",
				"sip:carol@192.0.2.23:5060 q=1.0 exp=1799",
				"sip:carol@192.0.2.21:5060 q=0.9 exp=119",
				"sip:carol@192.0.2.20:5060 q=0.5 exp=1799",
				"sip:carol@192.0.2.22:5060 q=0.1 exp=1799",
			}},
			{file: "sipp_udp.sip", edits: []edit{{"Call-ID", "six"}, {"Contact", "<sip:alice@192.0.2.66>"}}, err: ErrTooManyContacts},
			{file: "sipp_udp.sip", edits: []edit{{"Call-ID", "six"}, {"Contact", "<sip:a@h1>,<sip:a@h2>,<sip:a@h3>,<sip:a@h4>,<sip:a@h5>,<sip:a@h6>"}}, err: ErrTooManyContacts},
		}},
		{"bad requests", []step{
			{file: "sipp_udp.sip", edits: []edit{{"Contact", "<sip:alice@127.0.0.1>;q=2"}}, err: ErrBadContact},
			{file: "sipp_udp.sip", edits: []edit{{"Contact", "<sip:alice@127.0.0.1>;q=abc"}}, err: ErrBadContact},
			{file: "sipp_udp.sip", edits: []edit{{"Contact", "<sip:alice@127.0.0.1>;expires=-5"}}, err: ErrBadContact},
			{file: "sipp_udp.sip", edits: []edit{{"Contact", "<sip:alice@127.0.0.1>;reg-id=x;+sip.instance=\"<urn:x>\""}}, err: ErrBadContact},
			{file: "sipp_udp.sip", edits: []edit{{"Contact", "<tel:+15551234>"}}, err: ErrBadContact},
			{file: "sipp_udp.sip", edits: []edit{{"Expires", "soon"}}, err: ErrBadRequest},
			{file: "sipp_udp.sip", edits: []edit{{"Call-ID", ""}}, err: ErrBadRequest},
			{file: "query.sip"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, New(testConfig(), nil, nil), tt.steps)
		})
	}
}

func TestIntervalError(t *testing.T) {
	r := New(testConfig(), nil, nil)
	_, err := r.Register(sample(t, "jssip_ws.sip", edit{"Contact", "<sip:x@y.invalid;transport=ws>;expires=59"}), "alice@example.com", ws1, t0)
	var ie *IntervalError
	if !errors.As(err, &ie) || ie.MinExpires != 60*time.Second {
		t.Fatalf("err %v, want *IntervalError{60s}", err)
	}
	if code, _ := StatusCode(err); code != 423 {
		t.Fatalf("status %d, want 423", code)
	}
}

func TestStatusCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
	}{
		{nil, 200},
		{fmt.Errorf("x: %w", ErrBadContact), 400},
		{ErrBadRequest, 400},
		{&IntervalError{time.Minute}, 423},
		{ErrOutOfOrder, 500},
		{ErrTooManyContacts, 403},
		{errors.New("other"), 500},
	} {
		if code, _ := StatusCode(tt.err); code != tt.code {
			t.Errorf("StatusCode(%v) = %d, want %d", tt.err, code, tt.code)
		}
	}
}

func TestBindingFields(t *testing.T) {
	r := New(testConfig(), nil, nil)
	got, err := r.Register(sample(t, "path.sip"), "bob@example.com", tcp, t0)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	b := got[0]
	wantPath := []string{"<sip:edge1.example.com;lr;ob>", "<sip:edge0.example.net;lr>", "<sip:10.0.0.2;lr>"}
	if strings.Join(b.Path, "|") != strings.Join(wantPath, "|") {
		t.Errorf("Path %q, want %q", b.Path, wantPath)
	}
	if b.DisplayName != "Bob's phone" || b.UserAgent != "Linphone/5.2.0 (belle-sip/5.2.0)" || b.Source != tcp ||
		b.CallID != "1j9FpLxk3uxtm8tn@192.0.2.10" || b.CSeq != 101 || b.AOR != "bob@example.com" || b.Q != 1 {
		t.Errorf("binding %+v", b)
	}
	if b.RawContact != `"Bob's phone" <sip:bob@192.0.2.10:40112;transport=tcp>;expires=7200` {
		t.Errorf("RawContact %q", b.RawContact)
	}
	if h := ResponseContact(b, t0.Add(100*time.Second)); h.Value() != `"Bob's phone" <sip:bob@192.0.2.10:40112;transport=tcp>;expires=3500` {
		t.Errorf("ResponseContact %q", h.Value())
	}

	got, err = r.Register(sample(t, "jssip_ws.sip"), "alice@example.com", ws1, t0)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	b = got[0]
	if b.Instance != jsID || b.RegID != 1 || b.UserAgent != "JsSIP 3.10.1" || len(b.Path) != 0 {
		t.Errorf("binding %+v", b)
	}
	want := `<sip:8ul4dr6k@5qb2v0j6d4te.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="` + jsID + `";expires=600`
	if h := ResponseContact(b, t0); h.Value() != want {
		t.Errorf("ResponseContact %q\nwant %q", h.Value(), want)
	}
}

// TestBindingIsolated checks that changing the request after Register
// does not change the stored binding.
func TestBindingIsolated(t *testing.T) {
	r := New(testConfig(), nil, nil)
	req := sample(t, "jssip_ws.sip")
	if _, err := r.Register(req, "alice@example.com", ws1, t0); err != nil {
		t.Fatal(err)
	}
	c := req.Contact()
	c.Address.UriParams.Add("transport", "tcp")
	c.Params.Add("reg-id", "9")
	b := r.Lookup("alice@example.com", t0)[0]
	if v, _ := b.Contact.UriParams.Get("transport"); v != "ws" {
		t.Fatalf("stored contact changed with the request: %s", b.Contact.String())
	}
	if v, _ := b.Params.Get("reg-id"); v != "1" {
		t.Fatalf("stored params changed with the request: %v", b.Params)
	}
}

func TestLookupOrderAndExpiry(t *testing.T) {
	r := New(testConfig(), nil, nil)
	// Same q: most recent first.
	for i, host := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		req := sample(t, "sipp_udp.sip", edit{"Call-ID", "c" + host}, edit{"Contact", "<sip:alice@" + host + ">;expires=" + fmt.Sprint(100*(i+1))})
		if _, err := r.Register(req, "alice@example.com", udp, t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	hosts := func(now time.Time) string {
		var hs []string
		for _, b := range r.Lookup("alice@example.com", now) {
			hs = append(hs, b.Contact.Host)
		}
		return strings.Join(hs, ",")
	}
	if got := hosts(t0.Add(2 * time.Second)); got != "192.0.2.3,192.0.2.2,192.0.2.1" {
		t.Fatalf("order %s", got)
	}
	// 192.0.2.1 lapses at t0+100s, .2 at t0+201s, .3 at t0+302s.
	if got := hosts(t0.Add(150 * time.Second)); got != "192.0.2.3,192.0.2.2" {
		t.Fatalf("after 150s: %s", got)
	}
	if n := len(r.Snapshot()); n != 3 {
		t.Fatalf("snapshot before sweep has %d bindings, want 3", n)
	}
	if n := r.Sweep(t0.Add(250 * time.Second)); n != 2 {
		t.Fatalf("swept %d, want 2", n)
	}
	if got := hosts(t0.Add(250 * time.Second)); got != "192.0.2.3" {
		t.Fatalf("after sweep: %s", got)
	}
	if n := r.Sweep(t0.Add(400 * time.Second)); n != 1 || len(r.Snapshot()) != 0 {
		t.Fatalf("final sweep %d, snapshot %d", n, len(r.Snapshot()))
	}
	if got := hosts(t0); got != "" {
		t.Fatalf("after all swept: %s", got)
	}
}

func TestRemoveFlow(t *testing.T) {
	r := New(testConfig(), nil, nil)
	mustRegister := func(req *sip.Request, aor string, src Source) {
		t.Helper()
		if _, err := r.Register(req, aor, src, t0); err != nil {
			t.Fatal(err)
		}
	}
	mustRegister(sample(t, "jssip_ws.sip"), "alice@example.com", ws1)
	mustRegister(sample(t, "sipp_udp.sip"), "alice@example.com", udp)
	mustRegister(sample(t, "path.sip"), "bob@example.com", ws1)
	mustRegister(sample(t, "multi_q.sip"), "carol@example.com", tcp)

	if n := r.RemoveFlow(""); n != 0 {
		t.Fatalf("RemoveFlow(\"\") = %d", n)
	}
	if n := r.RemoveFlow("ws-1"); n != 2 {
		t.Fatalf("RemoveFlow(ws-1) = %d, want 2", n)
	}
	if n := r.RemoveFlow("ws-1"); n != 0 {
		t.Fatalf("second RemoveFlow(ws-1) = %d, want 0", n)
	}
	if got := r.Lookup("alice@example.com", t0); len(got) != 1 || got[0].Source != udp {
		t.Fatalf("alice after flow loss: %+v", got)
	}
	if got := r.Lookup("bob@example.com", t0); len(got) != 0 {
		t.Fatalf("bob after flow loss: %+v", got)
	}
	// An instance that moved to a new flow is not dropped with the old one.
	mustRegister(sample(t, "jssip_ws.sip"), "alice@example.com", ws1)
	mustRegister(sample(t, "jssip_ws_reconnect.sip"), "alice@example.com", ws2)
	if n := r.RemoveFlow("ws-1"); n != 0 {
		t.Fatalf("RemoveFlow(ws-1) after move = %d, want 0", n)
	}
	if n := r.RemoveFlow("tcp-1"); n != 4 {
		t.Fatalf("RemoveFlow(tcp-1) = %d, want 4", n)
	}
	if n := r.RemoveFlow("ws-2"); n != 1 {
		t.Fatalf("RemoveFlow(ws-2) = %d, want 1", n)
	}
	if got := r.Snapshot(); len(got) != 1 || got[0].Source != udp {
		t.Fatalf("left: %+v", got)
	}
}

func TestAOR(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"sip:Alice@Example.COM", "Alice@example.com"},
		{"sip:example.com", "example.com"},
		{"sips:bob@EXAMPLE.org:5061;transport=tls", "bob@example.org"},
	} {
		var u sip.Uri
		if err := sip.ParseUri(tt.in, &u); err != nil {
			t.Fatal(err)
		}
		if got := AOR(u); got != tt.want {
			t.Errorf("AOR(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameURI(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"sip:alice@atlanta.com", "sip:alice@AtLanTa.CoM", true},
		{"sip:alice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", true},
		{"sip:ALICE@atlanta.com", "sip:alice@atlanta.com", false},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false},
		{"sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", false},
		{"sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", true},
		{"sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off", false},
		{"sip:alice@atlanta.com", "sips:alice@atlanta.com", false},
	} {
		var a, b sip.Uri
		if err := sip.ParseUri(tt.a, &a); err != nil {
			t.Fatal(err)
		}
		if err := sip.ParseUri(tt.b, &b); err != nil {
			t.Fatal(err)
		}
		if got := sameURI(&a, &b); got != tt.same {
			t.Errorf("sameURI(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestConfig(t *testing.T) {
	c := Config{}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := Config{MinExpires: time.Hour, MaxExpires: time.Minute, DefaultExpires: time.Second, MaxContacts: -1}
	err := bad.Validate()
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	r := New(bad, nil, nil) // must still be usable
	if c := r.Config(); c.MaxExpires < c.MinExpires || c.DefaultExpires < c.MinExpires || c.MaxContacts < 1 {
		t.Fatalf("clamped config unusable: %+v", c)
	}
}

// TestFlowRefs walks the flow index entry through one AOR, several AORs
// and back to none, checking the AORs it reports after each step.
func TestFlowRefs(t *testing.T) {
	steps := []struct {
		aor  string
		d    int
		left bool
		want []string
	}{
		{"a@x", 1, true, []string{"a@x"}},
		{"a@x", 1, true, []string{"a@x"}},
		{"b@x", 1, true, []string{"a@x", "b@x"}},
		{"c@x", 1, true, []string{"a@x", "b@x", "c@x"}},
		{"a@x", -2, true, []string{"b@x", "c@x"}},
		{"b@x", -1, true, []string{"c@x"}},
		{"d@x", -1, true, []string{"c@x"}}, // unknown AOR: no effect
		{"c@x", -1, false, nil},
		{"e@x", 1, true, []string{"e@x"}},
	}
	var r flowRefs
	for i, s := range steps {
		if left := r.add(s.aor, s.d); left != s.left {
			t.Fatalf("step %d: add(%s, %d) = %v, want %v", i, s.aor, s.d, left, s.left)
		}
		got := r.aors()
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Fatalf("step %d: aors = %v, want %v", i, got, s.want)
		}
	}
}

func TestNATSources(t *testing.T) {
	natUDP := Source{Addr: "198.51.100.7:40000", Transport: "udp", NAT: true}
	natTCP := Source{Addr: "198.51.100.8:40001", Transport: "tcp", FlowID: "tcp-9", NAT: true}
	for _, tt := range []struct {
		name string
		regs []struct {
			file, aor string
			src       Source
		}
		want []string
	}{
		{name: "empty"},
		{name: "no NAT", regs: []struct {
			file, aor string
			src       Source
		}{{"sipp_udp.sip", "alice@example.com", udp}, {"jssip_ws.sip", "bob@example.com", ws1}}},
		{name: "NATed UDP only, once per address", regs: []struct {
			file, aor string
			src       Source
		}{
			{"sipp_udp.sip", "alice@example.com", natUDP},
			{"sipp_udp.sip", "bob@example.com", natUDP},
			{"multi_q.sip", "carol@example.com", natTCP},
			{"jssip_ws.sip", "dave@example.com", ws1},
		}, want: []string{natUDP.Addr}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := New(testConfig(), nil, nil)
			for _, reg := range tt.regs {
				if _, err := r.Register(sample(t, reg.file), reg.aor, reg.src, t0); err != nil {
					t.Fatal(err)
				}
			}
			if got := r.NATSources("udp"); !slices.Equal(got, tt.want) {
				t.Fatalf("NATSources(udp) = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpireFlow(t *testing.T) {
	r := New(testConfig(), nil, nil)
	for _, reg := range []struct {
		file, aor string
		src       Source
	}{
		{"jssip_ws.sip", "alice@example.com", ws1},
		{"sipp_udp.sip", "alice@example.com", udp},
		{"path.sip", "bob@example.com", ws2},
	} {
		if _, err := r.Register(sample(t, reg.file), reg.aor, reg.src, t0); err != nil {
			t.Fatal(err)
		}
	}
	grace := 30 * time.Second
	if n := r.ExpireFlow("", t0.Add(grace)); n != 0 {
		t.Fatalf(`ExpireFlow("") = %d`, n)
	}
	if n := r.ExpireFlow("ws-1", t0.Add(grace)); n != 1 {
		t.Fatalf("ExpireFlow(ws-1) = %d, want 1", n)
	}
	// A later call cannot lengthen what is already shorter.
	if n := r.ExpireFlow("ws-1", t0.Add(time.Hour)); n != 0 {
		t.Fatalf("second ExpireFlow(ws-1) = %d, want 0", n)
	}
	for _, tt := range []struct {
		at         time.Duration
		alice, bob int
	}{
		{grace - time.Second, 2, 1}, // within the grace: still found
		{grace + time.Second, 1, 1}, // after it: only the UDP binding
	} {
		if got := len(r.Lookup("alice@example.com", t0.Add(tt.at))); got != tt.alice {
			t.Errorf("alice at +%v: %d bindings, want %d", tt.at, got, tt.alice)
		}
		if got := len(r.Lookup("bob@example.com", t0.Add(tt.at))); got != tt.bob {
			t.Errorf("bob at +%v: %d bindings, want %d", tt.at, got, tt.bob)
		}
	}
	if n := r.Sweep(t0.Add(grace + time.Second)); n != 1 {
		t.Fatalf("Sweep after the grace = %d, want 1", n)
	}
}
