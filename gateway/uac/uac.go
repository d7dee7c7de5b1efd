// Package uac builds the requests the proxy sends on its own behalf
// rather than forwarding them: CANCEL toward a branch, BYE toward a party
// of a call the proxy ends, OPTIONS keepalives and probes. Every such
// request is built here, so they share one Max-Forwards (the operator's
// max_forwards) and one header order.
package uac

import "github.com/emiago/sipgo/sip"

// Request describes a request the proxy originates.
type Request struct {
	Method sip.RequestMethod
	RURI   sip.Uri
	// Via is the proxy's own Via (with a fresh branch).
	Via *sip.ViaHeader
	// Routes is the route set, in order.
	Routes []sip.Uri
	From   *sip.FromHeader
	To     *sip.ToHeader
	CallID string
	CSeq   uint32
	// MaxForwards is the operator's max_forwards.
	MaxForwards int
}

// New builds r with no body. From and To are cloned, so the caller's
// headers are never shared with the message.
func New(r Request) *sip.Request {
	req := sip.NewRequest(r.Method, *r.RURI.Clone())
	if r.Via != nil {
		req.AppendHeader(r.Via)
	}
	for _, u := range r.Routes {
		req.AppendHeader(&sip.RouteHeader{Address: *u.Clone()})
	}
	mf := sip.MaxForwardsHeader(uint32(r.MaxForwards))
	req.AppendHeader(&mf)
	if r.From != nil {
		req.AppendHeader(sip.HeaderClone(r.From))
	}
	if r.To != nil {
		req.AppendHeader(sip.HeaderClone(r.To))
	}
	cid := sip.CallIDHeader(r.CallID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.CSeq, MethodName: r.Method})
	req.SetBody(nil)
	return req
}

// Cancel builds the CANCEL for an INVITE the proxy sent (RFC 3261 §9.1):
// the same Request-URI, top Via, Route set, From, To, Call-ID and CSeq
// number, sent the same way.
func Cancel(inv *sip.Request, maxForwards int) *sip.Request {
	r := Request{Method: sip.CANCEL, RURI: inv.Recipient, MaxForwards: maxForwards, CallID: inv.CallID().Value(),
		CSeq: inv.CSeq().SeqNo, From: inv.From(), To: inv.To()}
	if v := inv.Via(); v != nil {
		r.Via = v.Clone()
	}
	for _, h := range inv.GetHeaders("Route") {
		if rh, ok := h.(*sip.RouteHeader); ok {
			r.Routes = append(r.Routes, rh.Address)
		}
	}
	c := New(r)
	c.SetTransport(inv.Transport())
	c.SetDestination(inv.Destination())
	c.Laddr = inv.Laddr
	return c
}
