package gateway

import (
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/topo"
)

// hiding is topology hiding (topo): which transports face the outside and
// the key of the tokens. Fixed at New; reload does not change it.
type hiding struct {
	cfg topo.Config
	h   *topo.Hider
}

func newHiding(cfg topo.Config) (*hiding, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	h, err := topo.New(cfg.Secret)
	if err != nil {
		return nil, err
	}
	return &hiding{cfg: cloneConfig(cfg), h: h}, nil
}

func cloneConfig(c topo.Config) topo.Config {
	c.External = append([]string(nil), c.External...)
	return c
}

// external reports whether transport t (any case) faces the outside.
func (g *Gateway) external(t string) bool {
	return g.hiding != nil && g.hiding.cfg.IsExternal(strings.ToLower(t))
}

// contactURI is our address on transport t as a Contact URI.
func (s selfAddrs) contactURI(t string) (sip.Uri, bool) {
	rr, ok := s.recordRoute(t, "")
	if !ok {
		return sip.Uri{}, false
	}
	u := rr.Address
	ps := make(sip.HeaderParams, 0, 1)
	for _, kv := range u.UriParams {
		if kv.K != "lr" {
			ps = append(ps, kv)
		}
	}
	u.UriParams = ps
	return u, true
}

// isOurRecordRoute returns a test for our Record-Route entry on transport t.
func (s selfAddrs) isOurRecordRoute(t string) func(sip.Uri) bool {
	l, ok := s.byTransport[t]
	tp := t
	if t == "wss" {
		tp = "ws"
	}
	return func(u sip.Uri) bool {
		got, _ := u.UriParams.Get("transport")
		return ok && strings.EqualFold(u.Host, l.host) && u.Port == l.port && strings.EqualFold(got, tp)
	}
}

// hideRequest hides the inside in r, about to go out over transport out
// (lower case) when that faces the outside, and returns the inside Vias it
// took out (the responses get them back, restoreUpstream).
func (g *Gateway) hideRequest(r *sip.Request, out string) []sip.Header {
	if !g.external(out) {
		return nil
	}
	vias := topo.StripVias(r)
	if self, ok := g.self.contactURI(out); ok {
		g.hiding.h.HideContacts(r, self)
	}
	g.hiding.h.HideRecordRoutes(r, g.self.isOurRecordRoute(out), false)
	return vias
}

// restoreRequest undoes the hiding in a request from outside (before loose
// routing); it reports whether the request carried our tokens.
func (g *Gateway) restoreRequest(r *sip.Request) bool {
	return g.hiding != nil && g.hiding.h.Restore(r)
}

// hiddenVias holds the inside Vias of a proxy transaction's request, taken
// out toward the outside, for its responses.
type hiddenVias struct {
	mu   sync.Mutex
	vias []sip.Header
}

func (v *hiddenVias) set(vias []sip.Header) {
	if len(vias) == 0 {
		return
	}
	v.mu.Lock()
	v.vias = vias
	v.mu.Unlock()
}

func (v *hiddenVias) get() []sip.Header {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.vias
}

// hideUpstream finishes a response relayed upstream: inside entries sealed
// by hideRequest come back, the inside Vias come back, and toward a
// party outside the inside is hidden.
func (p *proxyTx) hideUpstream(out *sip.Response) {
	g := p.g
	if g.hiding == nil {
		return
	}
	g.hiding.h.RestoreRecordRoutes(out)
	topo.RestoreVias(out, p.hidden.get())
	in := strings.ToLower(p.req.Transport())
	if !g.external(in) {
		return
	}
	if self, ok := g.self.contactURI(in); ok {
		g.hiding.h.HideContacts(out, self)
	}
	g.hiding.h.HideRecordRoutes(out, g.self.isOurRecordRoute(in), true)
}
