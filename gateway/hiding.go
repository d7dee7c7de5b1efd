package gateway

import (
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/topo"
)

// hiding is topology hiding (topo) as one rule set holds it: which
// transports face the outside and the Hider of the tokens. A reload builds
// a new one (newHiding) and swaps it in with the rules; a transaction uses
// the one in effect when it started. It is never changed after building.
type hiding struct {
	cfg topo.Config
	h   *topo.Hider
}

// newHiding builds the topology hiding of cfg. prev, if not nil, is the one
// a reload replaces: with the same secret its Hider is kept (also its
// random key when secret is unset), with another one the new Hider still
// opens prev's tokens (topo.Hider.Rekey), so the dialogs in progress keep
// routing; and when external is now empty the Hider stays too, to restore
// those dialogs' requests from outside, while nothing new is hidden. nil:
// topology hiding was never on.
func newHiding(cfg topo.Config, prev *hiding) (*hiding, error) {
	switch {
	case prev == nil && !cfg.Enabled():
		return nil, nil
	case prev == nil:
		h, err := topo.New(cfg.Secret)
		if err != nil {
			return nil, err
		}
		return &hiding{cfg: cloneConfig(cfg), h: h}, nil
	case cfg.Secret == prev.cfg.Secret:
		return &hiding{cfg: cloneConfig(cfg), h: prev.h}, nil
	}
	h, err := prev.h.Rekey(cfg.Secret)
	if err != nil {
		return nil, err
	}
	return &hiding{cfg: cloneConfig(cfg), h: h}, nil
}

// hidingRekeyed reports whether a reload from prev to next changed the
// Hider (a new secret).
func hidingRekeyed(prev, next *hiding) bool {
	return prev != nil && next != nil && prev.h != next.h
}

func cloneConfig(c topo.Config) topo.Config {
	c.External = append([]string(nil), c.External...)
	return c
}

// external reports whether transport t (any case) faces the outside.
func (th *hiding) external(t string) bool {
	return th != nil && th.cfg.IsExternal(strings.ToLower(t))
}

// hideRequest hides the inside in r, about to go out over transport out
// (lower case) when that faces the outside (as th, the hiding of the
// request's transaction, says), and returns the inside Vias it took out
// (the responses get them back, hideUpstream).
func (g *Gateway) hideRequest(th *hiding, r *sip.Request, out string) []sip.Header {
	if !th.external(out) {
		return nil
	}
	vias := topo.StripVias(r)
	if us, ok := g.self.ContactURI(out); ok {
		th.h.HideContacts(r, us)
	}
	th.h.HideRecordRoutes(r, g.self.IsOurRecordRoute(out), false)
	return vias
}

// restoreRequest undoes the hiding in a request from outside (before loose
// routing) with th; it reports whether the request carried our tokens.
func restoreRequest(th *hiding, r *sip.Request) bool {
	return th != nil && th.h.Restore(r)
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
	g, th := p.g, p.hiding
	if th == nil {
		return
	}
	th.h.RestoreRecordRoutes(out)
	topo.RestoreVias(out, p.hidden.get())
	in := strings.ToLower(p.req.Transport())
	if !th.external(in) {
		return
	}
	if self, ok := g.self.ContactURI(in); ok {
		th.h.HideContacts(out, self)
	}
	th.h.HideRecordRoutes(out, g.self.IsOurRecordRoute(in), true)
}
