package gateway

import (
	"context"
	"time"

	"github.com/sipedge/sipedge/gateway/cdr"
	"github.com/sipedge/sipedge/gateway/dialog"
	"github.com/sipedge/sipedge/rtpengine"
)

// endFlowDialogs ends every call that ran over a closed flow: the other
// party gets a BYE from us and rtpengine forgets the call.
func (g *Gateway) endFlowDialogs(ctx context.Context, flow string) {
	for _, d := range g.dialogs.TakeFlow(flow) {
		g.log.Info("call ended: browser connection lost", "call_id", d.Key.CallID, "flow", flow)
		for p, leg := range d.Legs {
			if leg == nil || (leg.Target.Flow != "" && leg.Target.Flow == flow) {
				continue
			}
			g.sendBye(ctx, d, dialog.Party(p))
		}
		g.endCall(d, cdr.ByConnectionLost)
	}
}

// expireDialogs ends calls older than media.max_call_duration (dialog
// expiry) until ctx is done.
func (g *Gateway) expireDialogs(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, d := range g.dialogs.TakeExpired(now.Add(-g.cfg.Media.MaxCallDuration)) {
				g.log.Info("call expired", "call_id", d.Key.CallID)
				if !d.RecordOnly {
					g.sendBye(ctx, d, dialog.Caller)
					g.sendBye(ctx, d, dialog.Callee)
				}
				g.endCall(d, cdr.ByExpiry)
			}
		}
	}
}

// endMedia deletes an ended dialog's media from rtpengine: the whole call,
// or only this dialog's when other branches of a forked call live on.
func (g *Gateway) endMedia(d *dialog.Dialog) {
	if !d.Anchored {
		return
	}
	p := rtpengine.DeleteParams{CallID: d.Key.CallID}
	if g.dialogs.HasCall(d.Key.CallID) {
		p.FromTag, p.ToTag = d.Key.CallerTag, d.Key.CalleeTag
	}
	g.deleteMedia(p)
}

// sendBye sends a BYE to party p of d on behalf of the other party, in
// the background.
func (g *Gateway) sendBye(ctx context.Context, d *dialog.Dialog, p dialog.Party) {
	leg := d.Legs[p]
	if leg == nil {
		return
	}
	out, err := g.transportOf(leg.Target)
	if err != nil {
		return
	}
	via, ok := g.self.Via(out, "bye")
	if !ok {
		return
	}
	req := g.dialogs.Bye(d, p, via, g.cfg.MaxForwards)
	g.address(req, leg.Target, out)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	tx, err := g.request(ctx, req, leg.Target)
	cancel()
	if err != nil {
		g.log.Debug("BYE not sent", "call_id", d.Key.CallID, "error", err)
		return
	}
	g.drain(tx)
}
