package dialog

import (
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/nat"
)

// ErrFlowGone is an in-dialog request for a browser whose WebSocket
// connection is closed.
var ErrFlowGone = errors.New("dialog: flow is gone")

// Hop is where an in-dialog request goes: the first WebSocket flow named in
// the proxy's own Route entries (flows, in order) that is not the one the
// request came in on (inFlow), else NextHop. alive tells whether a flow is
// still connected; a flow that is gone is a 430 Flow Failed.
func Hop(fwd *sip.Request, flows []string, inFlow string, alive func(id string) bool) (route.Target, error) {
	for _, id := range flows {
		if id == inFlow {
			continue
		}
		if !alive(id) {
			return route.Target{}, status.New(430, "Flow Failed", fmt.Errorf("%w: %s", ErrFlowGone, id))
		}
		return route.Target{Flow: id}, nil
	}
	return NextHop(fwd)
}

// NextHop is where a request with a route set (or a plain Request-URI)
// goes: the top Route, else the real address a NATed party's Contact
// carries as alias (taken out of the Request-URI), else the Request-URI.
func NextHop(fwd *sip.Request) (route.Target, error) {
	if r := TopRoute(fwd); r != nil {
		return targetOf(r.Address)
	}
	if tr, addr, ok := nat.AliasTarget(&fwd.Recipient); ok {
		return route.Target{Transport: tr, Addr: addr}, nil
	}
	return targetOf(fwd.Recipient)
}

// targetOf is route.FromURI with its errors as SIP answers.
func targetOf(u sip.Uri) (route.Target, error) {
	t, err := route.FromURI(u)
	switch {
	case errors.Is(err, route.ErrUnresolvable):
		return t, status.New(480, "Temporarily Unavailable", err)
	case err != nil:
		return t, status.New(503, "Service Unavailable", err)
	}
	return t, nil
}

// TopRoute is m's first Route header, nil if it has none. sipgo's
// Route() allocates a header on every call for a message without Route
// (its lazy parse finds nothing); the parser and the proxy only ever put
// *sip.RouteHeader values in the list, so a scan is enough.
func TopRoute(m interface{ Headers() []sip.Header }) *sip.RouteHeader {
	for _, h := range m.Headers() {
		if r, ok := h.(*sip.RouteHeader); ok {
			return r
		}
	}
	return nil
}
