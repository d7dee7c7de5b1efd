package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/sets"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/gateway/uac"
)

// ended tells a target's observer (a destination set member) how the
// branch ended, when run returns.
func (b *branch) ended(o route.Observer) {
	b.mu.Lock()
	res, local := b.final, b.synthetic
	b.mu.Unlock()
	code := 0
	if res != nil {
		code = res.StatusCode
	}
	o.Ended(callID(b.p.req), code, local, b.p.req.IsInvite())
}

// expandSet expands a set:NAME target with the request's rules: the
// members the set's algorithm selects, in failover order (one group
// each) or in one parallel group; a trunk:NAME member is expanded in its
// place. The target's branch timer carries over to the members.
func (g *Gateway) expandSet(ctx context.Context, rs *rules, req *sip.Request, t route.Target) ([]route.Group, error) {
	groups, err := rs.sets.Select(t.Name, setKey(req))
	switch {
	case errors.Is(err, sets.ErrAllDown):
		return nil, nil // expand answers 503 when nothing at all is left
	case err != nil:
		return nil, status.New(500, "Server Internal Error", fmt.Errorf("%w: %w", ErrNoRoute, err))
	}
	out := make([]route.Group, 0, len(groups))
	for _, grp := range groups {
		var hops route.Group
		for _, m := range grp {
			if m.FRTimer == 0 {
				m.FRTimer = t.FRTimer
			}
			if m.Kind == route.KindHop {
				hops = append(hops, m)
				continue
			}
			exp, err := g.expandNamed(ctx, rs, req, m)
			if err != nil {
				g.log.Debug("set member not usable", "set", t.Name, "member", m.Name, "error", err)
				continue
			}
			if len(grp) == 1 {
				out = append(out, exp...)
			} else if len(exp) > 0 {
				hops = append(hops, exp[0]...)
			}
		}
		if len(hops) > 0 {
			out = append(out, hops)
		}
	}
	return out, nil
}

// setKey is what a set's hash algorithms hash.
func setKey(req *sip.Request) sets.Key {
	k := sets.Key{CallID: callID(req), RURIUser: req.Recipient.User}
	if f := req.From(); f != nil {
		k.FromUser = f.Address.User
	}
	if to := req.To(); to != nil {
		k.ToUser = to.Address.User
	}
	return k
}

// setProber sends the destination sets' OPTIONS probes through the
// gateway's transaction layer.
type setProber struct{ g *Gateway }

// Probe sends one OPTIONS to t and returns the code of its final answer;
// a transaction timeout or transport error is an error, never a 408.
func (p setProber) Probe(ctx context.Context, t route.Target, from string) (int, error) {
	g := p.g
	via, ok := g.self.Via(t.Transport, "probe")
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrListenerNotFound, t.Transport)
	}
	l, _ := g.self.Local(t.Transport)
	fu := sip.Uri{Scheme: "sip", User: "sipedge", Host: l.Host}
	if from != "" {
		if err := sip.ParseUri(from, &fu); err != nil {
			return 0, fmt.Errorf("probe from %q: %w", from, err)
		}
	}
	fh := &sip.FromHeader{Address: fu, Params: sip.NewParams()}
	fh.Params.Add("tag", sip.GenerateTagN(10))
	ruri := sip.Uri{Scheme: "sip", Host: t.Addr}
	if host, port, err := splitHostPort(t.Addr); err == nil {
		ruri.Host, ruri.Port = host, port
	}
	if t.RURI != nil {
		ruri = *t.RURI.Clone()
	}
	req := uac.New(uac.Request{
		Method: sip.OPTIONS, RURI: ruri, Via: via, From: fh,
		To:     &sip.ToHeader{Address: ruri, Params: sip.NewParams()},
		CallID: "probe-" + sip.GenerateTagN(16), CSeq: 1, MaxForwards: g.cfg.MaxForwards,
	})
	g.address(req, t, t.Transport)
	tx, err := g.startBranch(ctx, req, t)
	if err != nil {
		return 0, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if !res.IsProvisional() {
				return res.StatusCode, nil
			}
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return 0, err
			}
			return 0, ErrTimeout
		case <-ctx.Done():
			return 0, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		}
	}
}

// splitHostPort splits host:port with a numeric port.
func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}
