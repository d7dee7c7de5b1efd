package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/registrar"
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
