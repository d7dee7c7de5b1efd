package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
	"github.com/sipedge/sipedge/rtpengine"
)

// Call records (Deps.CallRecords): one per answered call, at its end
// (classic-to-classic calls are tracked for it too, as RecordOnly
// dialogs), one per initial INVITE that got a final failure after being
// forwarded (cancelled ones name the caller in hung_up_by), and one per
// initial INVITE refused here before forwarding (403, 404, 480, 503, ...;
// digest challenges are not calls and get none).

// endCall ends a dialog taken out of the table: its media statistics are
// read from rtpengine (query) when call records are kept, its media
// deleted, and its record written. by says who ended it (cdr.ByCaller, ...).
func (g *Gateway) endCall(d *dialog.Dialog, by string) {
	if g.deps.CallRecords == nil {
		g.endMedia(d)
		return
	}
	end := time.Now()
	if !d.Anchored || g.rtp == nil {
		g.deps.CallRecords.Record(g.dialogRecord(d, by, end, nil))
		return
	}
	p := rtpengine.DeleteParams{CallID: d.Key.CallID}
	if g.dialogs.HasCall(d.Key.CallID) {
		p.FromTag, p.ToTag = d.Key.CallerTag, d.Key.CalleeTag
	}
	started := g.bg.Go(func() {
		// rtpengine's delete reply carries the statistics only when the
		// call goes at once (no delete-delay): query them first, then
		// delete as usual.
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		var media *cdr.Media
		if reply, err := g.rtp.Query(ctx, rtpengine.CallRef{CallID: d.Key.CallID}); err != nil {
			g.log.Debug("rtpengine query for the call record failed", "call_id", d.Key.CallID, "error", err)
		} else if m, err := reply.Map(); err == nil {
			media = &cdr.Media{Node: reply.Node}
			media.Caller, media.Callee = cdr.LegsFromStats(m, d.Key.CallerTag, d.Key.CalleeTag)
		}
		p.Fast = true
		if _, err := g.rtp.Delete(ctx, p); err != nil {
			g.log.Debug("rtpengine delete failed", "call_id", p.CallID, "error", err)
		}
		g.deps.CallRecords.Record(g.dialogRecord(d, by, end, media))
	})
	if !started {
		g.deps.CallRecords.Record(g.dialogRecord(d, by, end, nil))
	}
}

// dialogRecord is the record of an answered call.
func (g *Gateway) dialogRecord(d *dialog.Dialog, by string, end time.Time, media *cdr.Media) *cdr.Record {
	r := &cdr.Record{CallID: d.Key.CallID, Start: d.Invited, Answer: d.Started, End: end,
		Duration: end.Sub(d.Started).Seconds(), Disposition: cdr.Answered, Code: 200, HungUp: by, Media: media}
	if r.Start.IsZero() {
		r.Start = d.Started
	}
	r.Setup = d.Started.Sub(r.Start).Seconds()
	var caller, callee route.Target
	if l := d.Legs[dialog.Caller]; l != nil {
		caller = l.Target
		if l.To != nil {
			r.Caller = l.To.Address.String()
		}
	}
	if l := d.Legs[dialog.Callee]; l != nil {
		callee = l.Target
		if l.To != nil {
			r.Callee = l.To.Address.String()
		}
	}
	r.Direction = direction(caller.Flow != "", callee.Flow != "")
	r.Destination = destination(callee)
	return r
}

// recordFailure writes the record of a forwarded initial INVITE that got
// a final failure.
func (p *proxyTx) recordFailure(code int, tgt route.Target) {
	rec := p.g.deps.CallRecords
	if rec == nil || !p.initial || !p.req.IsInvite() {
		return
	}
	end := time.Now()
	r := &cdr.Record{CallID: callID(p.req), Start: p.started, End: end, Setup: end.Sub(p.started).Seconds(),
		Disposition: cdr.DispositionOf(code), Code: code,
		Direction: direction(p.inFlow != "", tgt.Flow != ""), Destination: destination(tgt)}
	if f := p.req.From(); f != nil {
		r.Caller = f.Address.String()
	}
	if t := p.req.To(); t != nil {
		r.Callee = t.Address.String()
	}
	p.mu.Lock()
	if p.canceled {
		r.HungUp = cdr.ByCaller // the caller's CANCEL ended it
	}
	p.mu.Unlock()
	rec.Record(r)
}

// recordCanceled writes the record of an initial INVITE the caller
// cancelled before any 2xx (sipgo answered it 487).
func (p *proxyTx) recordCanceled() {
	p.mu.Lock()
	canceled := p.canceled && !p.finalSent
	var tgt route.Target
	if n := len(p.branches); n > 0 {
		tgt = p.branches[n-1].tgt
	}
	p.mu.Unlock()
	if canceled {
		p.recordFailure(487, tgt)
	}
}

// recordRefusal writes the record of an initial INVITE answered here with
// a failure before anything was forwarded (err is what the handler
// returned). Challenges (401, 407) are not recorded: the INVITE with
// credentials that follows is the call.
func (g *Gateway) recordRefusal(req *sip.Request, tx sip.ServerTransaction, err error) {
	rec := g.deps.CallRecords
	if rec == nil || !req.IsInvite() || req.To() == nil || hasTag(req.To().Params) {
		return
	}
	code := 500
	var se *status.Error
	if errors.As(err, &se) {
		code = se.Code
	}
	if code == 401 || code == 407 || code < 300 {
		return
	}
	now := time.Now()
	r := &cdr.Record{CallID: callID(req), Start: now, End: now, Disposition: cdr.DispositionOf(code), Code: code,
		Direction: direction(flowOf(tx) != nil, false)}
	if f := req.From(); f != nil {
		r.Caller = f.Address.String()
	}
	if t := req.To(); t != nil {
		r.Callee = t.Address.String()
	}
	rec.Record(r)
}

func direction(callerBrowser, calleeBrowser bool) string {
	switch {
	case callerBrowser && calleeBrowser:
		return cdr.Internal
	case callerBrowser:
		return cdr.Outbound
	case calleeBrowser:
		return cdr.Inbound
	}
	return cdr.Transit
}

func destination(t route.Target) string {
	if t.Flow != "" {
		return "flow:" + t.Flow
	}
	if t.Addr != "" {
		return t.Transport + ":" + t.Addr
	}
	return ""
}
