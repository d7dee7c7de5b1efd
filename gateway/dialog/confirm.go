package dialog

import (
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// Confirmed builds the dialog that a 2xx (res) to an initial INVITE (req,
// as the proxy received it) creates, or nil when the messages lack From or
// To. inFlow is the WebSocket flow the INVITE came in on (empty if none);
// out is the branch target the 2xx came back from. isSelf recognises the
// proxy's own Record-Route entries, which end the callee's route set.
func Confirmed(req *sip.Request, res *sip.Response, inFlow string, out route.Target, isSelf func(sip.Uri) bool, now time.Time) *Dialog {
	to, from := res.To(), req.From()
	if to == nil || from == nil || req.CSeq() == nil || req.CallID() == nil {
		return nil
	}
	d := New(Key{CallID: req.CallID().Value(), CallerTag: tagOf(from.Params), CalleeTag: tagOf(to.Params)}, req.CSeq().SeqNo, now)
	for _, f := range []string{inFlow, out.Flow} {
		if f != "" {
			d.Flows = append(d.Flows, f)
		}
	}
	// The caller: reached where its INVITE came from, along the
	// Record-Route entries upstream proxies put before ours.
	caller := &Leg{
		From: &sip.FromHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()},
		To:   &sip.ToHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()},
	}
	if c := req.Contact(); c != nil {
		caller.RURI = *c.Address.Clone()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			caller.Routes = append(caller.Routes, *rr.Address.Clone())
		}
	}
	switch {
	case inFlow != "":
		caller.Target = route.Target{Flow: inFlow}
	case len(caller.Routes) > 0:
		if t, err := route.FromURI(caller.Routes[0]); err == nil {
			caller.Target = t
		}
	default:
		caller.Target = route.Target{Transport: transportName(req.Transport()), Addr: req.Source()}
	}
	// The callee: reached like the branch, along the Record-Route entries
	// downstream proxies added above ours.
	callee := &Leg{
		From:   &sip.FromHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()},
		To:     &sip.ToHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()},
		Target: out,
	}
	callee.Target.Route = nil
	switch {
	case res.Contact() != nil:
		callee.RURI = *res.Contact().Address.Clone()
	case out.RURI != nil:
		callee.RURI = *out.RURI.Clone()
	default:
		callee.RURI = *req.Recipient.Clone()
	}
	var down []sip.Uri
	for _, h := range res.GetHeaders("Record-Route") {
		rr, ok := h.(*sip.RecordRouteHeader)
		if !ok || isSelf(rr.Address) {
			break
		}
		down = append(down, *rr.Address.Clone())
	}
	for i := len(down) - 1; i >= 0; i-- {
		callee.Routes = append(callee.Routes, down[i])
	}
	if len(callee.Routes) > 0 && callee.Target.Flow == "" {
		if t, err := route.FromURI(callee.Routes[0]); err == nil {
			callee.Target = t
		}
	}
	d.Legs = [2]*Leg{caller, callee}
	return d
}

func tagOf(p sip.HeaderParams) string {
	t, _ := p.Get("tag")
	return t
}

// transportName is the lower-case name of a message's transport (udp, tcp
// or tls).
func transportName(t string) string {
	switch strings.ToLower(t) {
	case "tcp":
		return "tcp"
	case "tls":
		return "tls"
	}
	return "udp"
}
