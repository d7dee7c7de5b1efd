package gateway

import (
	"sync"
	"time"
)

// trunkSlots counts the calls on each trunk for max_calls: a call holds a
// slot, by Call-ID, from the moment it is routed to the trunk until it
// fails there or its BYE passes; a call whose end was never seen is
// dropped after maxAge (media.max_call_duration).
type trunkSlots struct {
	mu      sync.Mutex
	byTrunk map[string]map[string]time.Time // trunk -> Call-ID -> since
	shared  Counters                        // cluster-wide counts (nil: this node's alone)
}

// Counters are counts shared by the nodes of a cluster (cluster.Store):
// Acquire counts one more unless the cluster-wide count is at limit.
type Counters interface {
	Acquire(name string, limit int) bool
	Release(name string)
}

// slotCounter is the shared counter name of trunk's calls.
func slotCounter(trunk string) string { return "trunk:" + trunk }

func newTrunkSlots() *trunkSlots {
	return &trunkSlots{byTrunk: map[string]map[string]time.Time{}}
}

// acquire takes a slot of trunk for callID (again: no new slot) unless
// max (> 0) are taken.
func (s *trunkSlots) acquire(trunk, callID string, max int, now time.Time, maxAge time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	calls := s.byTrunk[trunk]
	if calls == nil {
		calls = map[string]time.Time{}
		s.byTrunk[trunk] = calls
	}
	if _, ok := calls[callID]; ok {
		return true
	}
	if len(calls) >= max {
		for id, since := range calls {
			if now.Sub(since) > maxAge {
				delete(calls, id)
				s.releaseShared(trunk)
			}
		}
		if len(calls) >= max {
			return false
		}
	}
	if s.shared != nil && !s.shared.Acquire(slotCounter(trunk), max) {
		return false // the other nodes' calls fill the trunk
	}
	calls[callID] = now
	return true
}

// releaseShared gives back one cluster-wide count of trunk.
func (s *trunkSlots) releaseShared(trunk string) {
	if s.shared != nil {
		s.shared.Release(slotCounter(trunk))
	}
}

// release frees the slot callID holds, on whichever trunk.
func (s *trunkSlots) release(callID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for trunk, calls := range s.byTrunk {
		if _, ok := calls[callID]; ok {
			delete(calls, callID)
			s.releaseShared(trunk)
		}
	}
}

// inUse is the number of slots trunk holds.
func (s *trunkSlots) inUse(trunk string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byTrunk[trunk])
}
