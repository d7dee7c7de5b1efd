package gateway

import (
	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/nat"
)

// The proxy forwards what it received with a few changes. Cloning the whole
// parsed message for that (sipgo's Clone copies every header, parameter
// list and the body) was the largest single cost of a call, so the working
// copies here are shallow: a new header list whose entries are the
// received header values themselves, except the ones the forwarding path
// changes in place, which are cloned. Shared headers are only read, by
// both sides, so the received message stays exactly as received (its
// server or client transaction answers, matches and retransmits from it);
// removing, prepending and replacing entries changes only the copy's list.
// Anything that starts to change another header in place must clone it
// first (DESIGN: clone before changing).

// forwardCopy is the working copy of a received request (prepare): the top
// Via (nat.SetReceived), Max-Forwards (Dec) and Contact (nat.AliasContacts)
// are its own.
func forwardCopy(req *sip.Request) *sip.Request {
	out := sip.NewRequest(req.Method, *req.Recipient.Clone())
	out.SipVersion = req.SipVersion
	topVia := true
	for _, h := range req.Headers() {
		switch h.(type) {
		case *sip.ViaHeader:
			if topVia {
				h = sip.HeaderClone(h)
				topVia = false
			}
		case *sip.MaxForwardsHeader, *sip.ContactHeader:
			h = sip.HeaderClone(h)
		}
		out.AppendHeader(h)
	}
	out.SetBody(req.Body())
	out.SetTransport(req.Transport())
	out.SetSource(req.Source())
	out.SetDestination(req.Destination())
	out.Laddr = req.Laddr
	return out
}

// upstreamCopy is a downstream response as relayed upstream: the top Via
// (ours) left out, and a Contact that nat.AliasContacts will change cloned.
func upstreamCopy(res *sip.Response) *sip.Response {
	out := sip.NewResponse(res.StatusCode, res.Reason)
	out.SipVersion = res.SipVersion
	topVia := true
	src := res.Source()
	for _, h := range res.Headers() {
		switch c := h.(type) {
		case *sip.ViaHeader:
			if topVia {
				topVia = false
				continue
			}
		case *sip.ContactHeader:
			if !c.Address.UriParams.Has(nat.AliasParam) && nat.ContactBehindNAT(c.Address, src) {
				h = c.Clone()
			}
		}
		out.AppendHeader(h)
	}
	out.SetBody(res.Body())
	out.SetTransport(res.Transport())
	out.SetSource(res.Source())
	out.SetDestination(res.Destination())
	return out
}
