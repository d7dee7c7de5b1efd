package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/rtpengine"
)

// peerLeg is what the proxy needs to end a call toward one party on its
// own (RFC 3261 §12.2.1.1): where to send, the route set, the dialog's
// From/To as that party expects them, and the next CSeq.
type peerLeg struct {
	target target
	ruri   sip.Uri
	routes []sip.Uri
	from   *sip.FromHeader // the other party, as seen by this one
	to     *sip.ToHeader   // this party
}

// dialog is a confirmed call the gateway may have to end itself: one leg
// runs over a WebSocket flow (the browser may vanish) or rtpengine holds
// its media.
type dialog struct {
	callID   string
	started  time.Time
	anchored bool
	// flows are the WebSocket flows the call depends on.
	flows []string
	// legs[i] is how to reach party i: 0 the caller, 1 the callee.
	legs [2]*peerLeg
	// tags[i] is party i's tag; cseq[i] the highest CSeq party i sent.
	tags [2]string
	cseq [2]uint32
}

// dialogs is the single owner of the dialog table.
type dialogs struct {
	mu     sync.Mutex
	byCall map[string]*dialog
}

func newDialogs() *dialogs { return &dialogs{byCall: map[string]*dialog{}} }

func (ds *dialogs) add(d *dialog) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.byCall[d.callID] = d
}

// remove drops and returns the dialog of callID.
func (ds *dialogs) remove(callID string) *dialog {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d := ds.byCall[callID]
	delete(ds.byCall, callID)
	return d
}

// sawRequest records the CSeq of an in-dialog request from the party
// whose tag is fromTag.
func (ds *dialogs) sawRequest(callID, fromTag string, cseq uint32) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d := ds.byCall[callID]
	if d == nil {
		return
	}
	for i, t := range d.tags {
		if t == fromTag && cseq > d.cseq[i] {
			d.cseq[i] = cseq
		}
	}
}

// takeFlow removes and returns the dialogs that depend on flow.
func (ds *dialogs) takeFlow(flow string) []*dialog {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	var out []*dialog
	for id, d := range ds.byCall {
		for _, f := range d.flows {
			if f == flow {
				out = append(out, d)
				delete(ds.byCall, id)
				break
			}
		}
	}
	return out
}

// takeExpired removes and returns dialogs started before cutoff.
func (ds *dialogs) takeExpired(cutoff time.Time) []*dialog {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	var out []*dialog
	for id, d := range ds.byCall {
		if d.started.Before(cutoff) {
			out = append(out, d)
			delete(ds.byCall, id)
		}
	}
	return out
}

// endFlowDialogs ends every call that ran over a closed flow: the other
// party gets a BYE from us and rtpengine forgets the call.
func (g *Gateway) endFlowDialogs(flow string) {
	for _, d := range g.dialogs.takeFlow(flow) {
		g.log.Info("call ended: browser connection lost", "call_id", d.callID, "flow", flow)
		for i, leg := range d.legs {
			if leg == nil || (leg.target.flow != "" && leg.target.flow == flow) {
				continue
			}
			g.sendBye(d, i)
		}
		if d.anchored {
			g.deleteMedia(rtpengine.DeleteParams{CallID: d.callID})
		}
	}
}

// expireDialogs ends the media of calls older than media.max_call_duration
// (dialog expiry) until ctx is done.
func (g *Gateway) expireDialogs(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, d := range g.dialogs.takeExpired(now.Add(-g.cfg.Media.MaxCallDuration)) {
				g.log.Info("call expired", "call_id", d.callID)
				for i := range d.legs {
					g.sendBye(d, i)
				}
				if d.anchored {
					g.deleteMedia(rtpengine.DeleteParams{CallID: d.callID})
				}
			}
		}
	}
}

// sendBye sends a BYE to party i of d on behalf of the other party.
func (g *Gateway) sendBye(d *dialog, i int) {
	leg := d.legs[i]
	if leg == nil {
		return
	}
	out, err := g.transportOf(leg.target)
	if err != nil {
		return
	}
	req := sip.NewRequest(sip.BYE, *leg.ruri.Clone())
	via, ok := g.self.via(out, "bye")
	if !ok {
		return
	}
	req.AppendHeader(via)
	for _, r := range leg.routes {
		req.AppendHeader(&sip.RouteHeader{Address: *r.Clone()})
	}
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.HeaderClone(leg.from))
	req.AppendHeader(sip.HeaderClone(leg.to))
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	other := 1 - i
	g.dialogs.mu.Lock()
	seq := d.cseq[other] + 1
	g.dialogs.mu.Unlock()
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.BYE})
	req.SetBody(nil)
	g.address(req, leg.target, out)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	tx, err := g.request(ctx, req, leg.target)
	cancel()
	if err != nil {
		g.log.Debug("BYE not sent", "call_id", d.callID, "error", err)
		return
	}
	g.drain(tx)
}
