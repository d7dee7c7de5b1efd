package gateway

import (
	"context"
	"time"
)

// drainPoll is how often DrainCalls looks at the calls still up.
const drainPoll = 200 * time.Millisecond

// DrainCalls is the graceful part of a rolling upgrade: new calls and
// registrations get 503 with Retry-After (Drain), new WebSocket upgrades
// 503, and browsers without a call in progress are asked to reconnect
// (close code 1012), so a load balancer moves them to another node;
// browsers in a call are asked when their call ends. It returns when no
// call is left, or when grace has passed or ctx is done, with the number
// of calls still up.
func (g *Gateway) DrainCalls(ctx context.Context, grace time.Duration) int {
	g.Drain(true)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		if g.ws != nil {
			inCall := g.flowsInCalls()
			g.ws.Drain(func(id string) bool { return inCall[id] })
		}
		n := g.dialogs.Len()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-deadline.C:
			return n
		case <-tick.C:
		}
	}
}

// flowsInCalls is the set of flows calls in progress depend on.
func (g *Gateway) flowsInCalls() map[string]bool {
	in := map[string]bool{}
	for _, d := range g.dialogs.Snapshot() {
		for _, f := range d.Flows {
			in[f] = true
		}
	}
	return in
}
