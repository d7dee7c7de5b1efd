package gateway

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
)

// expand replaces the named targets of a route (trunk:NAME, set:NAME) by
// the hops they stand for at this moment, keeping the serial order of the
// groups: a named target in a group becomes the groups its expansion
// returns (its own failover order), in its place. SIP hops are kept.
func (g *Gateway) expand(ctx context.Context, rs *rules, req *sip.Request, groups []route.Group) ([]route.Group, error) {
	named := false
	for _, grp := range groups {
		for _, t := range grp {
			named = named || t.Kind != route.KindHop
		}
	}
	if !named {
		return groups, nil
	}
	out := make([]route.Group, 0, len(groups))
	for _, grp := range groups {
		var hops route.Group
		for _, t := range grp {
			switch t.Kind {
			case route.KindHop:
				hops = append(hops, t)
			default:
				var exp []route.Group
				var err error
				if t.Kind == route.KindSet {
					exp, err = g.expandSet(ctx, rs, req, t)
				} else {
					exp, err = g.expandNamed(ctx, rs, req, t)
				}
				if err != nil {
					return nil, err
				}
				if len(grp) == 1 {
					out = append(out, exp...)
					continue
				}
				// A named target inside a parallel group adds its first
				// choice to the group.
				if len(exp) > 0 {
					hops = append(hops, exp[0]...)
				}
			}
		}
		if len(hops) > 0 {
			out = append(out, hops)
		}
	}
	if len(out) == 0 {
		return nil, status.New(503, "Service Unavailable", fmt.Errorf("%w: every destination of the route is down or full", ErrUnavailable))
	}
	return out, nil
}

// expandNamed expands one trunk or set target.
func (g *Gateway) expandNamed(ctx context.Context, rs *rules, req *sip.Request, t route.Target) ([]route.Group, error) {
	switch t.Kind {
	case route.KindTrunk:
		return g.expandTrunk(ctx, rs, req, t.Name)
	case route.KindSet: // expand calls expandSet with the request's rules
		return nil, status.New(500, "Server Internal Error", fmt.Errorf("%w: destination set %q inside a set", ErrNoRoute, t.Name))
	}
	return []route.Group{{t}}, nil
}
