package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/gateway/sets"
	"github.com/sipedge/sipedge/gateway/trunk"
	"github.com/sipedge/sipedge/rtpengine"
	"github.com/sipedge/sipedge/ws"
)

// fakeGateway is every gateway-side source, in memory.
type fakeGateway struct {
	aors     map[string]int
	calls    map[string]bool
	draining bool
	disabled map[string]bool
}

func (f *fakeGateway) Bindings() []registrar.Binding {
	var out []registrar.Binding
	for aor, n := range f.aors {
		for range n {
			out = append(out, registrar.Binding{AOR: aor})
		}
	}
	return out
}
func (f *fakeGateway) LookupAOR(aor string) []registrar.Binding {
	if f.aors[aor] == 0 {
		return nil
	}
	return []registrar.Binding{{AOR: aor}}
}
func (f *fakeGateway) Unregister(aor string) int {
	n := f.aors[aor]
	delete(f.aors, aor)
	return n
}
func (f *fakeGateway) RegistrationCounts() (int, int) { return len(f.aors), len(f.aors) }
func (f *fakeGateway) Dialogs() []dialog.Info {
	var out []dialog.Info
	for id := range f.calls {
		out = append(out, dialog.Info{CallID: id})
	}
	return out
}
func (f *fakeGateway) EndCall(_ context.Context, id string) int {
	if !f.calls[id] {
		return 0
	}
	delete(f.calls, id)
	return 1
}
func (f *fakeGateway) DialogCount() int         { return len(f.calls) }
func (f *fakeGateway) ActiveTransactions() int  { return 0 }
func (f *fakeGateway) Drain(on bool) bool       { was := f.draining; f.draining = on; return was }
func (f *fakeGateway) Draining() bool           { return f.draining }
func (f *fakeGateway) WSConns() (int, int)      { return 1, 2 }
func (f *fakeGateway) WSRefusals() []ws.Refusal { return []ws.Refusal{{Reason: "origin", Count: 3}} }
func (f *fakeGateway) Stats() []rtpengine.NodeStats {
	return []rtpengine.NodeStats{{Address: "udp:n1", Disabled: f.disabled["udp:n1"], LatencyBuckets: make([]uint64, len(rtpengine.LatencyBounds())+1)}}
}
func (f *fakeGateway) Enable(addr string) error  { return f.set(addr, false) }
func (f *fakeGateway) Disable(addr string) error { return f.set(addr, true) }
func (f *fakeGateway) set(addr string, off bool) error {
	if addr != "udp:n1" {
		return fmt.Errorf("%w: %q", rtpengine.ErrUnknownNode, addr)
	}
	f.disabled[addr] = off
	return nil
}

func TestAPI(t *testing.T) {
	f := &fakeGateway{aors: map[string]int{"alice@x": 2}, calls: map[string]bool{"c1": true}, disabled: map[string]bool{}}
	reloadErr := errors.Join(errors.New("f.yaml:3: a: bad"), errors.New("f.yaml:9: b: worse"))
	src := Sources{Registrations: f, Dialogs: f, Drainer: f, WebSockets: f, RTPEngine: f,
		Reload: func(context.Context) error { return reloadErr }}
	srv := httptest.NewServer(Handler("", Options{Metrics: NewMetrics(), Sources: src}))
	defer srv.Close()
	bare := httptest.NewServer(Handler("", Options{}))
	defer bare.Close()
	tests := []struct {
		srv          *httptest.Server
		method, path string
		code         int
		body         string // substring of the answer
	}{
		{srv, "GET", "/api/v1/registrations", 200, `"aor": "alice@x"`},
		{srv, "GET", "/api/v1/registrations/alice@x", 200, `"aor": "alice@x"`},
		{srv, "GET", "/api/v1/registrations/bob@x", 404, `"error": "no registration for bob@x"`},
		{srv, "DELETE", "/api/v1/registrations/alice@x", 200, `"removed": 2`},
		{srv, "DELETE", "/api/v1/registrations/alice@x", 404, `"error"`},
		{srv, "GET", "/api/v1/dialogs", 200, `"call_id": "c1"`},
		{srv, "DELETE", "/api/v1/dialogs/c2", 404, `no call with Call-ID c2`},
		{srv, "DELETE", "/api/v1/dialogs/c1", 200, `"ended": 1`},
		{srv, "GET", "/api/v1/rtpengine", 200, `"address": "udp:n1"`},
		{srv, "POST", "/api/v1/rtpengine/udp:n1/disable", 200, `"disabled": true`},
		{srv, "GET", "/api/v1/rtpengine", 200, `"disabled": true`},
		{srv, "POST", "/api/v1/rtpengine/udp:n2/disable", 404, `unknown`},
		{srv, "POST", "/api/v1/rtpengine/udp:n1/reboot", 404, `unknown action`},
		{srv, "POST", "/api/v1/reload", 422, `"f.yaml:9: b: worse"`},
		{srv, "POST", "/api/v1/drain", 200, `"draining": true`},
		{srv, "GET", "/api/v1/drain", 200, `"draining": true`},
		{srv, "DELETE", "/api/v1/drain", 200, `"draining": false`},
		{srv, "GET", "/api/v1/sets", 501, `sets is not available`},
		{srv, "GET", "/api/v1/nothing", 404, `no such endpoint`},
		{srv, "PUT", "/api/v1/drain", 404, `no such endpoint: PUT /api/v1/drain`},
		{srv, "GET", "/metrics", 200, `sipedge_ws_refusals_total{reason="origin"} 3`},
		{bare, "GET", "/api/v1/registrations", 501, `registrar is not available`},
		{bare, "POST", "/api/v1/reload", 501, `reload is not available`},
		{bare, "GET", "/metrics", 404, ``},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.srv.URL+tc.path, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
				t.Fatalf("%d %s\nwant %d with %q", res.StatusCode, b, tc.code, tc.body)
			}
			if strings.HasPrefix(tc.path, "/api/") {
				var v map[string]any
				if err := json.Unmarshal(b, &v); err != nil {
					t.Errorf("not a JSON object: %v", err)
				}
			}
		})
	}
}

// fakeEdge is the sets, trunks and bans sources, in memory.
type fakeEdge struct {
	disabled map[string]bool // set/member
	kicked   []string
	bans     map[netip.Addr]string
	until    time.Time
}

func (f *fakeEdge) ListSets() any { return []map[string]any{{"name": "pbx", "disabled": f.disabled}} }
func (f *fakeEdge) SetMemberEnabled(set, member string, on bool) error {
	if set != "pbx" {
		return fmt.Errorf("%w: %q", sets.ErrNoSet, set)
	}
	if member != "sip:10.0.0.1:5060" && member != "trunk:carrier" {
		return fmt.Errorf("%w: %q has no member %q", sets.ErrNoMember, set, member)
	}
	f.disabled[set+"/"+member] = !on
	return nil
}
func (f *fakeEdge) ListTrunks() any { return []string{"carrier", "static"} }
func (f *fakeEdge) Reregister(name string) error {
	switch name {
	case "carrier":
		f.kicked = append(f.kicked, name)
		return nil
	case "static":
		return fmt.Errorf("%w: %q has register: false", trunk.ErrNotRegistering, name)
	}
	return fmt.Errorf("%w: %q", trunk.ErrNoTrunk, name)
}
func (f *fakeEdge) ListBans() any { return f.bans }
func (f *fakeEdge) Ban(addr netip.Addr, d time.Duration, note string) time.Time {
	f.bans[addr] = note + " for " + d.String()
	return f.until
}
func (f *fakeEdge) Unban(addr netip.Addr) bool {
	_, ok := f.bans[addr]
	delete(f.bans, addr)
	return ok
}

// TestAPISteerEdge: enable and disable a set member, re-register a trunk,
// add and lift a ban; unknown names get 404, a trunk that does not
// register 409, bad input 400, a gateway without the source 501.
func TestAPISteerEdge(t *testing.T) {
	f := &fakeEdge{disabled: map[string]bool{}, bans: map[netip.Addr]string{}, until: time.Date(2026, 12, 3, 20, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(Handler("", Options{Sources: Sources{Sets: f, Trunks: f, Bans: f}}))
	defer srv.Close()
	bare := httptest.NewServer(Handler("", Options{}))
	defer bare.Close()
	esc := url.PathEscape
	for _, tc := range []struct {
		srv                *httptest.Server
		method, path, body string
		code               int
		want               string // substring of the answer
	}{
		{srv, "POST", "/api/v1/sets/pbx/members/" + esc("sip:10.0.0.1:5060") + "/disable", "", 200, `"disabled": true`},
		{srv, "GET", "/api/v1/sets", "", 200, `"pbx/sip:10.0.0.1:5060": true`},
		{srv, "POST", "/api/v1/sets/pbx/members/" + esc("sip:10.0.0.1:5060") + "/enable", "", 200, `"disabled": false`},
		{srv, "POST", "/api/v1/sets/pbx/members/trunk:carrier/disable", "", 200, `"member": "trunk:carrier"`},
		{srv, "POST", "/api/v1/sets/nope/members/trunk:carrier/disable", "", 404, `no such destination set: \"nope\"`},
		{srv, "POST", "/api/v1/sets/pbx/members/" + esc("sip:10.9.9.9") + "/disable", "", 404, `no such member in the set: \"pbx\" has no member \"sip:10.9.9.9\"`},
		{srv, "POST", "/api/v1/sets/pbx/members/trunk:carrier/reboot", "", 404, `unknown action reboot (enable, disable)`},
		{srv, "POST", "/api/v1/trunks/carrier/register", "", 200, `"registering": true`},
		{srv, "POST", "/api/v1/trunks/static/register", "", 409, `register: false`},
		{srv, "POST", "/api/v1/trunks/nope/register", "", 404, `no such trunk: \"nope\"`},
		{srv, "POST", "/api/v1/bans", `{"address": "192.0.2.7", "duration": "10m", "reason": "scans us"}`, 200, `"until": "2026-12-03T20:00:00Z"`},
		{srv, "POST", "/api/v1/bans", `{"address": "::ffff:192.0.2.8"}`, 200, `"address": "192.0.2.8"`},
		{srv, "GET", "/api/v1/bans", "", 200, `"192.0.2.7": "scans us for 10m0s"`},
		{srv, "POST", "/api/v1/bans", `{"address": "192.0.2.7:5060", "duration": "forever"}`, 400, `want an IP address without a port`},
		{srv, "POST", "/api/v1/bans", `{"address": "192.0.2.7", "duration": "500ms"}`, 400, `between 1s and 720h0m0s`},
		{srv, "POST", "/api/v1/bans", `{"addr": "192.0.2.7"}`, 400, `unknown field`},
		{srv, "POST", "/api/v1/bans", `not json`, 400, `body: want`},
		{srv, "DELETE", "/api/v1/bans/192.0.2.7", "", 200, `"banned": false`},
		{srv, "DELETE", "/api/v1/bans/192.0.2.7", "", 404, `no ban in force for 192.0.2.7`},
		{srv, "DELETE", "/api/v1/bans/nonsense", "", 400, `want an IP address`},
		{bare, "POST", "/api/v1/sets/pbx/members/trunk:carrier/disable", "", 501, `sets is not available`},
		{bare, "POST", "/api/v1/trunks/carrier/register", "", 501, `trunks is not available`},
		{bare, "POST", "/api/v1/bans", `{"address": "192.0.2.7"}`, 501, `bans is not available`},
		{bare, "DELETE", "/api/v1/bans/192.0.2.7", "", 501, `bans is not available`},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.srv.URL+tc.path, strings.NewReader(tc.body))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%d %s\nwant %d with %q", res.StatusCode, b, tc.code, tc.want)
			}
		})
	}
	if !f.disabled["pbx/trunk:carrier"] || f.disabled["pbx/sip:10.0.0.1:5060"] {
		t.Errorf("members %v, want trunk:carrier disabled, the URI enabled again", f.disabled)
	}
	if len(f.kicked) != 1 {
		t.Errorf("re-registered %v, want carrier once", f.kicked)
	}
	if _, ok := f.bans[netip.MustParseAddr("192.0.2.8")]; !ok || len(f.bans) != 1 {
		t.Errorf("bans %v, want 192.0.2.8 left (unmapped)", f.bans)
	}
}
