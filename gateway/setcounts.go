package gateway

import (
	"context"
	"time"
)

// CountSharer publishes this node's counts and returns the cluster-wide
// totals of the same names (cluster.Store.ShareCounts).
type CountSharer interface {
	ShareCounts(counts map[string]int) (map[string]int, error)
}

// setCountsEvery is how often destination set members' calls are
// exchanged with the other nodes: least-calls sees their calls this late.
const setCountsEvery = time.Second

// shareSetCounts publishes the calls in progress per destination set
// member and takes the other nodes' until ctx ends (owner: Run). With
// the cluster store down the last counts stand.
func (g *Gateway) shareSetCounts(ctx context.Context) {
	t := time.NewTicker(setCountsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ss := g.rules().sets
		own := ss.ActiveCounts()
		if len(own) == 0 {
			continue
		}
		names := make(map[string]int, len(own))
		for k, n := range own {
			names["set:"+k] = n
		}
		totals, err := g.deps.SetCounts.ShareCounts(names)
		if err != nil {
			continue // the store logs and counts its trouble
		}
		remote := make(map[string]int, len(own))
		for k, n := range own {
			remote[k] = totals["set:"+k] - n
		}
		ss.SetRemoteCounts(remote)
	}
}
