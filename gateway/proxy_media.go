package gateway

import (
	"bytes"
	"context"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/dialog"
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
func (b *branch) media(ctx context.Context, res *sip.Response) *sip.Response {
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
	switch {
	case p.offerSDP != "":
		var r rtpengine.Result
		r, err = g.rtp.Answer(ctx, rtpengine.AnswerParams{
			CallID: callID(res), FromTag: fromTag(p.req), ToTag: toTag(res), ViaBranch: b.mediaBranch(),
			SDP: string(res.Body()), Options: g.recipe(p.aSide, b.bSide, b.tgt.Addr),
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
			SDP: string(res.Body()), Options: g.recipe(p.aSide, b.bSide, b.tgt.Addr),
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
// succeeded, the branches that got no 2xx are deleted (every branch that
// got one is a dialog of its own and keeps its media).
func (p *proxyTx) cleanupMedia() {
	if p.g.rtp == nil || !p.req.IsInvite() || !p.initial {
		return
	}
	p.mu.Lock()
	bs := append([]*branch(nil), p.branches...)
	p.mu.Unlock()
	won := make(map[*branch]bool, len(bs))
	anyAnchored := false
	for _, b := range bs {
		b.mu.Lock()
		if b.final != nil && b.final.IsSuccess() {
			won[b] = true
		}
		b.mu.Unlock()
		anyAnchored = anyAnchored || b.anchored
	}
	if !anyAnchored {
		return
	}
	if len(won) == 0 {
		p.g.deleteMedia(rtpengine.DeleteParams{CallID: callID(p.req), FromTag: fromTag(p.req)})
		return
	}
	for _, b := range bs {
		if !won[b] && b.anchored && b.viaBranch != "" {
			p.g.deleteMedia(rtpengine.DeleteParams{CallID: callID(p.req), FromTag: fromTag(p.req), ViaBranch: b.viaBranch})
		}
	}
}

// trackDialog records a confirmed call that the gateway may have to end
// itself: one leg runs over a WebSocket flow, or rtpengine holds its
// media. Each 2xx of a forked INVITE is a dialog of its own.
func (p *proxyTx) trackDialog(ctx context.Context, b *branch, res *sip.Response) {
	recordOnly := p.inFlow == "" && b.tgt.Flow == "" && !b.anchored && b.cseqShift == 0
	if recordOnly && p.g.deps.CallRecords == nil {
		return
	}
	d := dialog.Confirmed(p.req, res, p.inFlow, b.tgt, p.g.self.IsSelf, time.Now())
	if d == nil {
		return
	}
	d.RecordOnly = recordOnly // kept for its call record only (records.go)
	d.Anchored = b.anchored
	d.Invited = p.started
	p.g.dialogs.Add(d)
	if b.cseqShift > 0 {
		p.g.dialogs.AddCallerShift(d.Key.CallID, d.Key.CallerTag, d.Key.CalleeTag, b.cseqShift)
	}
	// The browser may have gone while the callee was answering.
	for _, f := range d.Flows {
		if _, ok := p.g.flow(f); !ok {
			p.g.endFlowDialogs(context.WithoutCancel(ctx), f)
			break
		}
	}
}
