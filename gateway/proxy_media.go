package gateway

import (
	"bytes"
	"context"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/rtpengine"
)

// mediaBranch is the rtpengine via-branch of this branch: set for the
// initial INVITE (each fork branch is its own monologue), empty in dialog.
func (b *branch) mediaBranch() string {
	if b.p.initial && b.p.req.IsInvite() {
		return b.viaBranch
	}
	return ""
}

// media rewrites the SDP of a response from an anchored branch through
// rtpengine: the answer to our offer (toward the caller's kind, with
// a=group:BUNDLE restored for browsers), or, for an INVITE without SDP,
// the late offer in the 2xx (tags swapped). It returns res itself when
// nothing changes; the original is never modified.
func (b *branch) media(res *sip.Response) *sip.Response {
	p, g := b.p, b.p.g
	if !b.anchored || !hasSDP(res.Body(), contentType(res)) {
		return res
	}
	b.mu.Lock()
	if b.sdpIn != nil && bytes.Equal(b.sdpIn, res.Body()) {
		out := res.Clone()
		out.SetBody(b.sdpOut)
		b.mu.Unlock()
		return out
	}
	b.mu.Unlock()
	var sdp string
	var err error
	ctx := context.Background()
	switch {
	case p.offerSDP != "":
		var r rtpengine.Result
		r, err = g.rtp.Answer(ctx, rtpengine.AnswerParams{
			CallID: callID(res), FromTag: fromTag(p.req), ToTag: toTag(res), ViaBranch: b.mediaBranch(),
			SDP: string(res.Body()), Options: g.recipe(p.aSide, b.bSide, b.tgt.addr),
		})
		sdp = r.SDP
		if err == nil && p.aSide == browser {
			sdp = rtpengine.RestoreBundle(p.offerSDP, sdp)
		}
	case p.lateOffer && res.IsSuccess():
		ft, tt := rtpengine.LegTags(fromTag(p.req), toTag(res), true)
		var r rtpengine.Result
		r, err = g.rtp.Offer(ctx, rtpengine.OfferParams{
			CallID: callID(res), FromTag: ft, ToTag: tt,
			SDP: string(res.Body()), Options: g.recipe(p.aSide, b.bSide, b.tgt.addr),
		})
		sdp = r.SDP
		if err == nil && p.aSide == browser {
			sdp = rtpengine.EnsureBundle(sdp)
		}
	default:
		return res
	}
	out := res.Clone()
	if err != nil {
		g.log.Warn("rtpengine could not rewrite the SDP", "call_id", callID(res), "code", res.StatusCode, "error", err)
		if res.IsProvisional() {
			out.SetBody(nil) // a provisional answer the caller cannot use is better without SDP
			out.RemoveHeader("Content-Type")
		}
		return out
	}
	out.SetBody([]byte(sdp))
	b.mu.Lock()
	b.sdpIn, b.sdpOut = bytes.Clone(res.Body()), []byte(sdp)
	b.mu.Unlock()
	return out
}

// cleanupMedia runs when a proxy transaction ends: a failed or cancelled
// initial INVITE leaves nothing in rtpengine; of a forked call that
// succeeded, the losing branches are deleted.
func (p *proxyTx) cleanupMedia() {
	if p.g.rtp == nil || !p.req.IsInvite() || !p.initial {
		return
	}
	p.mu.Lock()
	bs := append([]*branch(nil), p.branches...)
	p.mu.Unlock()
	var won *branch
	anyAnchored := false
	for _, b := range bs {
		b.mu.Lock()
		ok := b.final != nil && b.final.IsSuccess()
		b.mu.Unlock()
		anyAnchored = anyAnchored || b.anchored
		if ok {
			won = b
		}
	}
	if !anyAnchored {
		return
	}
	if won == nil {
		p.g.deleteMedia(rtpengine.DeleteParams{CallID: callID(p.req), FromTag: fromTag(p.req)})
		return
	}
	for _, b := range bs {
		if b != won && b.anchored && b.viaBranch != "" {
			p.g.deleteMedia(rtpengine.DeleteParams{CallID: callID(p.req), FromTag: fromTag(p.req), ViaBranch: b.viaBranch})
		}
	}
}

// trackDialog records a confirmed call that the gateway may have to end
// itself: one leg runs over a WebSocket flow, or rtpengine holds its media.
func (p *proxyTx) trackDialog(b *branch, res *sip.Response) {
	if p.inFlow == "" && b.tgt.flow == "" && !b.anchored {
		return
	}
	req := p.req
	d := &dialog{callID: callID(req), anchored: b.anchored, started: time.Now()}
	d.tags = [2]string{fromTag(req), toTag(res)}
	d.cseq[0] = req.CSeq().SeqNo
	for _, f := range []string{p.inFlow, b.tgt.flow} {
		if f != "" {
			d.flows = append(d.flows, f)
		}
	}
	to := res.To()
	from := req.From()
	if to == nil || from == nil {
		return
	}
	// The caller (party 0): reached where its INVITE came from, along the
	// Record-Route entries upstream proxies put before ours.
	caller := &peerLeg{
		from: &sip.FromHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()},
		to:   &sip.ToHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()},
	}
	if c := req.Contact(); c != nil {
		caller.ruri = *c.Address.Clone()
	}
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			caller.routes = append(caller.routes, *rr.Address.Clone())
		}
	}
	switch {
	case p.inFlow != "":
		caller.target = target{flow: p.inFlow}
	case len(caller.routes) > 0:
		if t, err := uriTarget(caller.routes[0]); err == nil {
			caller.target = t
		}
	default:
		caller.target = target{transport: sideTransport(req.Transport()), addr: req.Source()}
	}
	// The callee (party 1): reached like this branch, along the
	// Record-Route entries downstream proxies added above ours.
	callee := &peerLeg{
		from:   &sip.FromHeader{DisplayName: from.DisplayName, Address: *from.Address.Clone(), Params: from.Params.Clone()},
		to:     &sip.ToHeader{DisplayName: to.DisplayName, Address: *to.Address.Clone(), Params: to.Params.Clone()},
		target: b.tgt,
	}
	callee.target.route = nil
	if c := res.Contact(); c != nil {
		callee.ruri = *c.Address.Clone()
	} else if b.tgt.ruri != nil {
		callee.ruri = *b.tgt.ruri.Clone()
	} else {
		callee.ruri = *req.Recipient.Clone()
	}
	var down []sip.Uri
	for _, h := range res.GetHeaders("Record-Route") {
		rr, ok := h.(*sip.RecordRouteHeader)
		if !ok || p.g.self.isSelf(rr.Address) {
			break
		}
		down = append(down, *rr.Address.Clone())
	}
	for i := len(down) - 1; i >= 0; i-- {
		callee.routes = append(callee.routes, down[i])
	}
	if len(callee.routes) > 0 && callee.target.flow == "" {
		if t, err := uriTarget(callee.routes[0]); err == nil {
			callee.target = t
		}
	}
	d.legs = [2]*peerLeg{caller, callee}
	p.g.dialogs.add(d)
	// The browser may have gone while the callee was answering.
	for _, f := range d.flows {
		if _, ok := p.g.flow(f); !ok {
			p.g.endFlowDialogs(f)
			break
		}
	}
}

// sideTransport is the lower-case transport name of a message's transport.
func sideTransport(t string) string {
	switch t {
	case "UDP", "udp":
		return "udp"
	case "TCP", "tcp":
		return "tcp"
	case "TLS", "tls":
		return "tls"
	}
	return "udp"
}
