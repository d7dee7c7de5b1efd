package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
)

// handleRegister is the pipeline of a REGISTER addressed to us (no Route):
// handled here, never forwarded, so no working copy and no loop hash.
// handle runs the same steps; answerDatagram calls it directly.
func (g *Gateway) handleRegister(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) error {
	if err := sanity(req); err != nil {
		return err
	}
	if err := g.refuseDraining(req); err != nil {
		return err
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return status.New(483, "Too Many Hops", ErrTooManyHops)
	}
	return g.register(ctx, req, tx)
}

// register is the registrar (RFC 3261 §10.3): authenticate, check that the
// authenticated user owns the address of record, apply the bindings and
// answer 200 listing every current binding with its remaining expiry.
func (g *Gateway) register(_ context.Context, req *sip.Request, tx sip.ServerTransaction) error {
	if !g.self.IsLocal(req.Recipient.Host) {
		return status.New(403, "Forbidden", fmt.Errorf("%w: %s is not our domain", ErrForbidden, req.Recipient.Host))
	}
	user, err := g.authenticate(req, false)
	if err != nil {
		return err
	}
	to := req.To().Address
	if !g.self.IsLocal(to.Host) {
		return status.New(403, "Forbidden", fmt.Errorf("%w: To domain %s is not ours", ErrForbidden, to.Host))
	}
	if to.User != user {
		return status.New(403, "Forbidden", fmt.Errorf("%w: %s may not register %s", ErrForbidden, user, to.User))
	}
	aor := g.aor(to.User, to.Host)
	src := registrar.Source{Addr: req.Source(), Transport: strings.ToLower(req.Transport()), NAT: behindNAT(req)}
	if f := flowOf(tx); f != nil {
		src.FlowID, src.NAT = f.ID(), false
	}
	now := time.Now()
	bindings, err := g.reg.Register(req, aor, src, now)
	if err != nil {
		return registrarStatus(err)
	}
	res := newResponse(req, 200, "OK")
	for _, b := range bindings {
		res.AppendHeader(registrar.ResponseContact(b, now))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	return g.respond(g.localTx(req, tx, g.authAnswers), req, res)
}

// registrarStatus turns the registrar's refusals into a SIP answer (423
// carries Min-Expires, an out-of-order request Retry-After).
func registrarStatus(err error) error {
	code, reason := registrar.StatusCode(err)
	var hdrs []sip.Header
	var ie *registrar.IntervalError
	if errors.As(err, &ie) {
		hdrs = append(hdrs, sip.NewHeader("Min-Expires", strconv.Itoa(int(ie.MinExpires/time.Second))))
	}
	if errors.Is(err, registrar.ErrOutOfOrder) {
		hdrs = append(hdrs, sip.NewHeader("Retry-After", "1"))
	}
	return status.New(code, reason, fmt.Errorf("%w: %w", ErrRegistrar, err), hdrs...)
}

// lookup turns the bindings of aor into fork targets: the registered
// Contact as Request-URI, sent along the binding's Path if any, else down
// its connection (TCP, TLS) or to its real source when it is behind NAT,
// else to the Contact's own address. A binding another node of the cluster
// holds the connection of is reached through that node (one branch per
// node, none when it is dead); localOnly (a peer asked us) skips them.
func (g *Gateway) lookup(aor string, localOnly bool) route.Group {
	bs := g.reg.Lookup(aor, time.Now())
	out := make(route.Group, 0, len(bs))
	var peers []string
	for _, b := range bs {
		if g.elsewhere(&b) {
			if !localOnly && !slices.Contains(peers, b.Node) {
				peers = append(peers, b.Node)
				if t, ok := g.peerTarget(b.Node); ok {
					out = append(out, t)
				}
			}
			continue
		}
		ruri := b.Contact
		t := route.Target{RURI: &ruri, Transport: b.Source.Transport, Addr: b.Source.Addr}
		if b.Source.Transport == "udp" && !b.Source.NAT {
			ct, err := route.FromURI(b.Contact)
			if err != nil {
				continue
			}
			t.Transport, t.Addr = ct.Transport, ct.Addr
		}
		if len(b.Path) > 0 {
			for _, p := range b.Path {
				var u sip.Uri
				if _, err := sip.ParseAddressValue(p, &u, nil); err == nil {
					t.Route = append(t.Route, u)
				}
			}
			if len(t.Route) > 0 {
				if pt, err := route.FromURI(t.Route[0]); err == nil {
					t.Transport, t.Addr = pt.Transport, pt.Addr
				}
			}
		}
		switch t.Transport {
		case "udp", "tcp", "tls":
			out = append(out, t)
		case "ws", "wss":
			if b.Source.FlowID != "" && len(t.Route) == 0 {
				t.Flow, t.Addr = b.Source.FlowID, ""
				out = append(out, t)
			}
		}
	}
	return out
}
