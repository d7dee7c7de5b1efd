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
}

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
			}
		}
		if len(calls) >= max {
			return false
		}
	}
	calls[callID] = now
	return true
}

// release frees the slot callID holds, on whichever trunk.
func (s *trunkSlots) release(callID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, calls := range s.byTrunk {
		delete(calls, callID)
	}
}

// inUse is the number of slots trunk holds.
func (s *trunkSlots) inUse(trunk string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byTrunk[trunk])
}
