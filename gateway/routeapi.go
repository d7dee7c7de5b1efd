package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/route/rtjson"
	"github.com/sipedge/sipedge/gateway/status"
)

// ErrRejected is a request the routing service refused.
var ErrRejected = errors.New("gateway: rejected by the routing service")

// routeDecision turns a matching route into target groups: the routing
// service's answer when the route has one and it answers well in time,
// else the route's own targets (the fallback); a rejection from the
// service is returned as the *status.Error to answer with.
func (g *Gateway) routeDecision(ctx context.Context, rs *rules, fwd *sip.Request, tx sip.ServerTransaction, d route.Decision) ([]route.Group, error) {
	if d.API != nil {
		groups, err := g.askAPI(ctx, fwd, tx, d.API)
		if tx != nil && errors.Is(tx.Err(), sip.ErrTransactionCanceled) {
			// CANCELled while the service thought (sipgo answered 487):
			// nothing may ring now.
			return nil, status.New(487, "Request Terminated", fmt.Errorf("%w: cancelled during the routing API query", ErrNoTransaction))
		}
		var se *status.Error
		switch {
		case err == nil:
			return g.expand(ctx, rs, fwd, groups)
		case errors.As(err, &se):
			return nil, err
		}
		g.log.Warn("routing API failed, using the route's fallback", "call_id", callID(fwd), "method", fwd.Method,
			"url", d.API.URL, "route", d.Rule, "error", err)
	}
	if len(d.Groups) == 0 {
		return nil, status.New(503, "Service Unavailable", fmt.Errorf("%w: routing API failed and routes[%d] has no fallback", ErrUnavailable, d.Rule))
	}
	return g.expand(ctx, rs, fwd, d.Groups)
}

// askAPI asks the route's routing service about fwd, within its timeout,
// and returns the target groups of its answer.
func (g *Gateway) askAPI(ctx context.Context, fwd *sip.Request, tx sip.ServerTransaction, api *route.API) ([]route.Group, error) {
	if fwd.IsInvite() && tx != nil {
		// Stop the caller's retransmissions while the service thinks.
		_ = tx.Respond(sip.NewResponseFromRequest(fwd, 100, "Trying", nil))
	}
	actx, cancel := context.WithTimeout(ctx, api.Timeout)
	defer cancel()
	dec, err := g.api.Ask(actx, api.URL, g.query(fwd, api))
	if err != nil {
		return nil, err
	}
	if r := dec.Reject; r != nil {
		return nil, status.New(r.Code, r.Reason, fmt.Errorf("%w: %d %s", ErrRejected, r.Code, r.Reason))
	}
	targets := make([]route.Target, 0, len(dec.Branches))
	for i, br := range dec.Branches {
		t, err := apiTarget(fwd, br)
		if err != nil {
			return nil, fmt.Errorf("%w: routes[%d]: %w", rtjson.ErrDocument, i, err)
		}
		t.Failover = api.Failed
		targets = append(targets, t)
	}
	if dec.Parallel {
		return []route.Group{targets}, nil
	}
	groups := make([]route.Group, 0, len(targets))
	for _, t := range targets {
		groups = append(groups, route.Group{t})
	}
	return groups, nil
}

// query describes fwd for the routing service.
func (g *Gateway) query(fwd *sip.Request, api *route.API) rtjson.Query {
	q := rtjson.Query{Version: "1.0", Method: string(fwd.Method), RURI: fwd.Recipient.String(), CallID: callID(fwd),
		Source: fwd.Source(), Transport: strings.ToLower(fwd.Transport())}
	if f := fwd.From(); f != nil {
		tag, _ := f.Params.Get("tag")
		q.From = rtjson.Party{Display: f.DisplayName, URI: f.Address.String(), Tag: tag}
		if !g.trustedRequest(fwd) {
			q.AuthUser = f.Address.User // authorize checked it is the authenticated user
		}
	}
	if to := fwd.To(); to != nil {
		q.To = rtjson.Party{Display: to.DisplayName, URI: to.Address.String()}
	}
	for _, name := range api.Headers {
		for _, h := range fwd.GetHeaders(name) {
			if q.Headers == nil {
				q.Headers = map[string][]string{}
			}
			q.Headers[name] = append(q.Headers[name], h.Value())
		}
	}
	return q
}

// apiTarget makes a branch of the service's answer into a target: sent
// to dst_uri, else the first path entry, else uri (else the request's
// Request-URI), with uri as the new Request-URI, path as Route entries,
// its timers and its header changes.
func apiTarget(fwd *sip.Request, br rtjson.Branch) (route.Target, error) {
	dst := br.Dst
	if br.Dst == br.RURI && len(br.Path) > 0 {
		dst = &br.Path[0]
	}
	if dst == nil {
		dst = &fwd.Recipient
	}
	t, err := route.FromURI(*dst)
	if err != nil {
		return route.Target{}, err
	}
	t.RURI = br.RURI
	t.Route = br.Path
	t.FRTimer = br.FRTimer
	t.InviteTimeout = br.FRInvTimer
	if br.From != nil || br.To != nil || len(br.Extra) > 0 {
		t.Edit = func(r *sip.Request) { applyHeaders(r, br) }
	}
	return t, nil
}

// applyHeaders carries out a branch's header changes on its request:
// From and To get the new display name and URI (their tags stay), extra
// headers are added. Headers are replaced, never changed in place.
func applyHeaders(r *sip.Request, br rtjson.Branch) {
	if c := br.From; c != nil {
		if old := r.From(); old != nil {
			h := &sip.FromHeader{DisplayName: old.DisplayName, Address: *c.URI.Clone(), Params: old.Params.Clone()}
			if c.Display != nil {
				h.DisplayName = *c.Display
			}
			r.ReplaceHeader(h)
		}
	}
	if c := br.To; c != nil {
		if old := r.To(); old != nil {
			h := &sip.ToHeader{DisplayName: old.DisplayName, Address: *c.URI.Clone(), Params: old.Params.Clone()}
			if c.Display != nil {
				h.DisplayName = *c.Display
			}
			r.ReplaceHeader(h)
		}
	}
	for _, h := range br.Extra {
		r.AppendHeader(sip.HeaderClone(h))
	}
}

// routeRequest is what the routes match fwd on.
func routeRequest(fwd *sip.Request) route.Request {
	r := route.Request{Method: string(fwd.Method), User: fwd.Recipient.User, Host: fwd.Recipient.Host,
		Transport: strings.ToLower(fwd.Transport()),
		Header: func(name string) []string {
			var vals []string
			for _, h := range fwd.Headers() {
				if strings.EqualFold(h.Name(), name) {
					vals = append(vals, h.Value())
				}
			}
			return vals
		}}
	if f := fwd.From(); f != nil {
		r.FromUser, r.FromHost = f.Address.User, f.Address.Host
	}
	if ap, err := netip.ParseAddrPort(fwd.Source()); err == nil {
		r.Source = ap.Addr()
	}
	return r
}

// restoreParties gives a response relayed upstream the From and To of the
// request as the caller sent it, when a branch changed them (a routing
// service's headers.from/to): the caller sees its own From and To, with
// the callee's To tag.
func restoreParties(out *sip.Response, req *sip.Request) {
	if f, of := req.From(), out.From(); f != nil && of != nil && !sameNameAddr(f.DisplayName, f.Address, of.DisplayName, of.Address) {
		out.ReplaceHeader(&sip.FromHeader{DisplayName: f.DisplayName, Address: *f.Address.Clone(), Params: of.Params.Clone()})
	}
	if to, ot := req.To(), out.To(); to != nil && ot != nil && !sameNameAddr(to.DisplayName, to.Address, ot.DisplayName, ot.Address) {
		out.ReplaceHeader(&sip.ToHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: ot.Params.Clone()})
	}
}

// sameNameAddr compares what a routing service may change: display name,
// user and host (no allocation: this runs for every relayed response).
func sameNameAddr(d1 string, u1 sip.Uri, d2 string, u2 sip.Uri) bool {
	return d1 == d2 && u1.User == u2.User && u1.Host == u2.Host && u1.Port == u2.Port && u1.Scheme == u2.Scheme
}
