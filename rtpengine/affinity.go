package rtpengine

import (
	"sync"
	"time"
)

// affinity pins each call (by Call-ID) to the node that took its offer, so
// answer, delete and the other commands of the call reach the same node.
type affinity struct {
	mu    sync.Mutex
	calls map[string]*pin
}

type pin struct {
	node *node
	last time.Time
}

func (a *affinity) get(callID string) *node {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.calls[callID]
	if p == nil {
		return nil
	}
	p.last = time.Now()
	return p.node
}

func (a *affinity) set(callID string, n *node) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.calls[callID]; p != nil {
		p.node, p.last = n, time.Now()
		return
	}
	a.calls[callID] = &pin{node: n, last: time.Now()}
}

func (a *affinity) remove(callID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.calls, callID)
}

// expire forgets calls idle for longer than ttl (lost BYE) and returns how
// many calls stay pinned per node.
func (a *affinity) expire(ttl time.Duration) map[*node]int {
	cut := time.Now().Add(-ttl)
	a.mu.Lock()
	defer a.mu.Unlock()
	per := map[*node]int{}
	for id, p := range a.calls {
		if p.last.Before(cut) {
			delete(a.calls, id)
			continue
		}
		per[p.node]++
	}
	return per
}
