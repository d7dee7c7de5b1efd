package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/registrar"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/ws"
)

// What the admin server reads and steers. Each method is a snapshot or one
// small action on the owner of the state (registrar, dialog table, ws
// server); none of them is on the request path.

// drainRetryAfter is the Retry-After (seconds) of the 503 a draining
// gateway answers new calls and registrations with.
const drainRetryAfter = "60"

// Drain sets whether the gateway drains: while it does, new calls
// (initial INVITEs) and REGISTERs get 503 Service Unavailable with
// Retry-After, and calls in progress go on until they end. It returns the
// previous setting.
func (g *Gateway) Drain(on bool) bool { return g.draining.Swap(on) }

// Draining reports whether the gateway drains (Drain).
func (g *Gateway) Draining() bool { return g.draining.Load() }

// refuseDraining is the 503 of a draining gateway for a new call or
// registration, nil for every other request.
func (g *Gateway) refuseDraining(req *sip.Request) error {
	if !g.draining.Load() {
		return nil
	}
	switch to := req.To(); {
	case to == nil: // sanity refuses it
		return nil
	case req.Method == sip.REGISTER, req.Method == sip.INVITE && !hasTag(to.Params):
	default:
		return nil
	}
	return status.New(503, "Service Unavailable", fmt.Errorf("%w: draining", ErrUnavailable),
		sip.NewHeader("Retry-After", drainRetryAfter))
}

// Bindings returns every registered contact not yet expired, by AOR then
// newest first.
func (g *Gateway) Bindings() []registrar.Binding {
	now := time.Now()
	all := slices.DeleteFunc(g.reg.Snapshot(), func(b registrar.Binding) bool { return !b.Expires.After(now) })
	slices.SortStableFunc(all, func(a, b registrar.Binding) int {
		if c := strings.Compare(a.AOR, b.AOR); c != 0 {
			return c
		}
		return b.Registered.Compare(a.Registered)
	})
	return all
}

// LookupAOR returns the unexpired bindings of an address of record
// ("user@domain", or a bare user of the first domain).
func (g *Gateway) LookupAOR(aor string) []registrar.Binding {
	return g.reg.Lookup(g.canonicalAOR(aor), time.Now())
}

// Unregister removes every binding of an address of record and returns
// how many it removed: requests to it get 480 from then on.
func (g *Gateway) Unregister(aor string) int {
	aor = g.canonicalAOR(aor)
	n := g.reg.Remove(aor)
	if n > 0 {
		g.log.Info("bindings removed by operator", "aor", aor, "bindings", n)
	}
	return n
}

func (g *Gateway) canonicalAOR(aor string) string {
	aor = strings.TrimPrefix(strings.TrimPrefix(aor, "sip:"), "sips:")
	user, host, ok := strings.Cut(aor, "@")
	if !ok {
		return g.aor(user, "")
	}
	return g.aor(user, host)
}

// Dialogs returns the confirmed calls, oldest first.
func (g *Gateway) Dialogs() []dialog.Info {
	ds := g.dialogs.Snapshot()
	out := make([]dialog.Info, 0, len(ds))
	for _, d := range ds {
		di := dialog.Info{CallID: d.Key.CallID, CallerTag: d.Key.CallerTag, CalleeTag: d.Key.CalleeTag,
			Started: d.Started, Anchored: d.Anchored}
		if l := d.Legs[dialog.Caller]; l != nil && l.To != nil {
			di.Caller = l.To.Address.String()
		}
		if l := d.Legs[dialog.Callee]; l != nil && l.To != nil {
			di.Callee = l.To.Address.String()
		}
		if d.Anchored && g.rtp != nil {
			di.Node = g.rtp.NodeOf(d.Key.CallID)
		}
		out = append(out, di)
	}
	slices.SortFunc(out, func(a, b dialog.Info) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.CallID, b.CallID)
	})
	return out
}

// EndCall ends every dialog of callID as an operator asks: a BYE to both
// parties and the rtpengine session deleted. It returns how many dialogs
// it ended (0: no such call). The BYEs are sent in the background.
func (g *Gateway) EndCall(ctx context.Context, callID string) int {
	ds := g.dialogs.TakeCall(callID)
	for _, d := range ds {
		g.log.Info("call ended by operator", "call_id", d.Key.CallID)
		g.sendBye(context.WithoutCancel(ctx), d, dialog.Caller)
		g.sendBye(context.WithoutCancel(ctx), d, dialog.Callee)
		g.endCall(d, cdr.ByOperator)
	}
	return len(ds)
}

// DialogCount is the number of confirmed calls tracked.
func (g *Gateway) DialogCount() int { return g.dialogs.Len() }

// ActiveTransactions is the number of requests being handled (server
// transactions in progress in the proxy).
func (g *Gateway) ActiveTransactions() int { return int(g.active.Load()) }

// RegistrationCounts returns the AORs with at least one unexpired binding
// and the unexpired bindings (contacts).
func (g *Gateway) RegistrationCounts() (aors, contacts int) {
	now := time.Now()
	seen := map[string]bool{}
	g.reg.Each(func(b *registrar.Binding) bool {
		if b.Expires.After(now) {
			contacts++
			seen[b.AOR] = true
		}
		return true
	})
	return len(seen), contacts
}

// WSConns returns the open WebSocket flows by transport.
func (g *Gateway) WSConns() (wsConns, wssConns int) {
	if g.ws == nil {
		return 0, 0
	}
	return g.ws.Conns()
}

// WSRefusals returns the refused WebSocket upgrades by reason.
func (g *Gateway) WSRefusals() []ws.Refusal {
	if g.ws == nil {
		return nil
	}
	return g.ws.Refusals()
}
