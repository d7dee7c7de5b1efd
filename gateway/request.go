package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/self"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/nat"
	"github.com/sipedge/sipedge/ws"
)

// prepared is a request after the checks every request goes through.
type prepared struct {
	fwd       *sip.Request // working copy: own Routes removed, Max-Forwards set
	hash      string       // loop hash
	ourRoute  bool         // the request carried one of our Record-Route entries
	flows     []string     // flow ids found in our Route entries
	localOnly bool         // a cluster peer asks us to reach our own bindings only
	hiding    *hiding      // topology hiding in effect for this request (nil: off)
}

// prepare runs sanity checks, Max-Forwards, loose routing (RFC 3261 §16.4)
// and loop detection on a working copy of req (forwardCopy), or on req
// itself when inPlace: an ACK for a 2xx, which nothing else reads after
// its handler (its throw-away transaction is never answered).
func (g *Gateway) prepare(req *sip.Request, inPlace bool) (prepared, error) {
	if err := sanity(req); err != nil {
		return prepared{}, err
	}
	fwd := req
	if !inPlace {
		fwd = forwardCopy(req)
	}
	if mf := fwd.MaxForwards(); mf == nil {
		h := sip.MaxForwardsHeader(uint32(g.cfg.MaxForwards))
		fwd.AppendHeader(&h)
	} else if mf.Val() == 0 && !(req.Method == sip.OPTIONS && g.forUs(fwd)) {
		return prepared{}, status.New(483, "Too Many Hops", ErrTooManyHops)
	}
	th := g.rules().hiding
	p := prepared{fwd: fwd, ourRoute: restoreRequest(th, fwd), hiding: th}
	// A strict router before us put our URI in the Request-URI: restore
	// the real one from the last Route (RFC 3261 §16.4).
	if g.self.IsSelf(fwd.Recipient) && fwd.Recipient.UriParams.Has("lr") {
		if routes := fwd.GetHeaders("Route"); len(routes) > 0 {
			last := routes[len(routes)-1].(*sip.RouteHeader)
			fwd.Recipient = *last.Address.Clone()
			removeLastRoute(fwd)
			p.ourRoute = true
		}
	}
	for r := dialog.TopRoute(fwd); r != nil && g.self.IsSelf(r.Address); r = dialog.TopRoute(fwd) {
		if f, ok := r.Address.UriParams.Get(self.FlowParam); ok && f != "" {
			p.flows = append(p.flows, f)
		}
		if r.Address.UriParams.Has(localParam) {
			p.localOnly = true
		}
		fwd.RemoveHeader("Route")
		p.ourRoute = true
	}
	p.hash = self.LoopHash(fwd)
	if g.self.Looping(req, p.hash) {
		return prepared{}, status.New(482, "Loop Detected", ErrLoop)
	}
	return p, nil
}

// dialogHop is the next hop of an in-dialog request (dialog.Hop), given
// the flow it came in on.
func (g *Gateway) dialogHop(fwd *sip.Request, p prepared, in *ws.Flow) (route.Target, error) {
	inFlow := ""
	if in != nil {
		inFlow = in.ID()
	}
	return dialog.Hop(fwd, p.flows, inFlow, func(id string) bool {
		_, ok := g.flow(id)
		return ok
	})
}

// forUs reports whether a request without Route addresses the proxy itself
// (Request-URI is our host, no user part).
func (g *Gateway) forUs(r *sip.Request) bool {
	return dialog.TopRoute(r) == nil && r.Recipient.User == "" && g.self.IsLocal(r.Recipient.Host)
}

// handle is the pipeline for every request but ACK.
func (g *Gateway) handle(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) error {
	restoreMethod(req)
	if req.IsCancel() {
		// sipgo matched every CANCEL for a live INVITE transaction already.
		return status.New(481, "Call/Transaction Does Not Exist", ErrNoTransaction)
	}
	if err := g.refuseDraining(req); err != nil {
		return err
	}
	if req.Method == sip.REGISTER && dialog.TopRoute(req) == nil {
		// Handled here, never forwarded: no working copy, no loop hash.
		if err := sanity(req); err != nil {
			return err
		}
		if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
			return status.New(483, "Too Many Hops", ErrTooManyHops)
		}
		return g.register(ctx, req, tx)
	}
	p, err := g.prepare(req, false)
	if err != nil {
		return err
	}
	fwd := p.fwd
	trusted := g.trustedRequest(req)
	if trusted && g.certifiedRequest(req) {
		g.banVouch(req) // a verified client certificate, as a digest would
	}
	if to := req.To(); to != nil && hasTag(to.Params) {
		return g.inDialog(ctx, req, tx, p, trusted)
	}
	switch {
	case req.Method == sip.REGISTER && dialog.TopRoute(fwd) == nil: // it named us in a Route
		return g.register(ctx, req, tx)
	case req.Method == sip.OPTIONS && g.forUs(fwd):
		return g.options(req, tx)
	case !knownMethods[req.Method] && g.forUs(fwd):
		// We are the UAS of an unknown method addressed to the proxy;
		// one for anybody else is forwarded (RFC 3261 §16.6: a proxy
		// needs no knowledge of a method to forward it).
		return status.New(501, "Not Implemented", fmt.Errorf("%w: %.32s", ErrUnknownMethod, req.Method), allowHeader())
	}
	if !trusted {
		if err := g.authorize(req, true); err != nil {
			return err
		}
	}
	if name, ok := g.requestTrunk(req); ok {
		if err := g.mapDID(fwd, name); err != nil {
			return err
		}
	}
	groups, err := g.resolve(ctx, fwd, tx, p)
	if err != nil {
		return err
	}
	g.forward(ctx, req, fwd, tx, p, groups)
	return nil
}

// inDialog forwards a request that belongs to a dialog. Only requests that
// carry our Record-Route (or come from a trusted source) are relayed.
func (g *Gateway) inDialog(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, p prepared, trusted bool) error {
	fwd := p.fwd
	if !p.ourRoute && !trusted {
		return status.New(404, "Not Found", fmt.Errorf("%w: in-dialog request without our Route", ErrNotRelaying))
	}
	if dialog.TopRoute(fwd) == nil && len(p.flows) == 0 && !fwd.Recipient.UriParams.Has(nat.AliasParam) &&
		(g.self.IsSelf(fwd.Recipient) || g.self.IsDomain(strings.ToLower(fwd.Recipient.Host))) {
		// Never look our own domain up in DNS for a dialog we are not in.
		return status.New(404, "Not Found", fmt.Errorf("%w: in-dialog request addressed to the proxy", ErrNoRoute))
	}
	t, err := g.dialogHop(fwd, p, flowOf(tx))
	if err != nil {
		return err
	}
	g.dialogs.SawRequest(callID(req), fromTag(req), toTag(req), req.CSeq().SeqNo)
	g.shiftCSeq(fwd)
	if handled, err := g.dtmf(ctx, req, tx, t); handled || err != nil {
		return err
	}
	g.forward(ctx, req, fwd, tx, p, []route.Group{{t}})
	if req.Method == sip.BYE {
		g.trunks.slots.release(callID(req))
		g.rules().sets.CallEnded(callID(req)) // least-calls stops counting it
		if d, _ := g.dialogs.Remove(callID(req), fromTag(req), toTag(req)); d != nil {
			by := cdr.ByCallee
			if fromTag(req) == d.Key.CallerTag {
				by = cdr.ByCaller
			}
			g.endCall(d, by)
		}
	}
	return nil
}

// resolve finds the targets of an initial request: a cluster peer's
// hand-over (our own users' connections only), a pre-loaded Route, the
// registered contacts of a local user (parallel fork), or what the first
// matching route says (its routing API, else its hops in serial failover).
func (g *Gateway) resolve(ctx context.Context, fwd *sip.Request, tx sip.ServerTransaction, p prepared) ([]route.Group, error) {
	if p.localOnly {
		// A cluster peer's request for one of our users' connections.
		ruri := fwd.Recipient
		if bs := g.lookup(g.aor(ruri.User, ruri.Host), true); len(bs) > 0 {
			return []route.Group{bs}, nil
		}
		return nil, status.New(480, "Temporarily Unavailable", fmt.Errorf("%w: %s has no connection on this node", ErrUnavailable, ruri.String()))
	}
	if dialog.TopRoute(fwd) != nil {
		t, err := dialog.NextHop(fwd)
		if err != nil {
			return nil, err
		}
		return []route.Group{{t}}, nil
	}
	ruri := fwd.Recipient
	rs := g.rules()
	if g.self.IsLocal(ruri.Host) && ruri.User != "" {
		aor := g.aor(ruri.User, ruri.Host)
		if bs := g.lookup(aor, false); len(bs) > 0 {
			return []route.Group{bs}, nil
		}
		if rs.users[ruri.User] {
			return nil, status.New(480, "Temporarily Unavailable", fmt.Errorf("%w: %s has no registered contact", ErrUnavailable, aor))
		}
	}
	if d, ok := rs.routes.Route(routeRequest(fwd)); ok {
		d.Actions.Apply(fwd)
		return g.routeDecision(ctx, rs, fwd, tx, d)
	}
	return nil, status.New(404, "Not Found", fmt.Errorf("%w: for %s", ErrNoRoute, ruri.String()))
}

// aor is the canonical address of record for a local user: our own
// addresses stand for the first domain.
func (g *Gateway) aor(user, host string) string {
	h := strings.ToLower(host)
	if !g.self.IsDomain(h) && len(g.cfg.Domains) > 0 {
		h = strings.ToLower(g.cfg.Domains[0])
	}
	return user + "@" + h
}

// options answers an OPTIONS addressed to the proxy (keepalives, probes).
func (g *Gateway) options(req *sip.Request, tx sip.ServerTransaction) error {
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(allowHeader())
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	return g.respond(tx, req, res)
}

// allowHeader lists the methods the proxy answers or routes itself.
func allowHeader() sip.Header {
	return sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, MESSAGE, UPDATE, PRACK, SUBSCRIBE, NOTIFY, REFER")
}

func removeLastRoute(r *sip.Request) {
	hs := r.GetHeaders("Route")
	if len(hs) == 0 {
		return
	}
	keep := make([]sip.Header, 0, len(hs)-1)
	for _, h := range hs[:len(hs)-1] {
		keep = append(keep, sip.HeaderClone(h))
	}
	for range hs {
		r.RemoveHeader("Route")
	}
	for _, h := range keep {
		r.AppendHeader(h)
	}
}
