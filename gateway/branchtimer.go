package gateway

import (
	"time"

	"github.com/sipedge/sipedge/gateway/route"
)

// branchTimer is a branch's fr_timer: it fires when the next hop has sent
// no response at all within the route's (or the gateway's) fr_timer. A nil
// *branchTimer (toward a WebSocket flow) never fires.
type branchTimer struct {
	t *time.Timer
	d time.Duration
}

// newBranchTimer starts the fr_timer of a branch to t, or returns nil
// when none applies: a WebSocket flow's liveness is known from the flow.
func (g *Gateway) newBranchTimer(t route.Target) *branchTimer {
	if t.Flow != "" {
		return nil
	}
	d := t.FRTimer
	if d <= 0 {
		d = g.cfg.FRTimer
	}
	if d <= 0 {
		return nil
	}
	return &branchTimer{t: time.NewTimer(d), d: d}
}

// C is the channel the timer fires on (nil, blocking forever, when none).
func (bt *branchTimer) C() <-chan time.Time {
	if bt == nil || bt.t == nil {
		return nil
	}
	return bt.t.C
}

// Stop disarms the timer: a response arrived, or the branch ended.
func (bt *branchTimer) Stop() {
	if bt != nil && bt.t != nil {
		bt.t.Stop()
		bt.t = nil
	}
}
