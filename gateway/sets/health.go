package sets

import (
	"sync"
	"sync/atomic"
	"time"
)

// retryAfter is how long a member marked down by failed calls, in a set
// without probing, stays out before calls try it again.
const retryAfter = 30 * time.Second

// health is one member's state, shared by every Sets built from reloads
// of the same configuration (keyed by set name and member URI), so a
// reload neither forgets that a member is down nor loses the count of its
// calls in progress.
type health struct {
	// selected counts branches sent to the member, failedOver those that
	// failed so that the call moved on (or failed): kept across reloads
	// with the health.
	selected, failedOver atomic.Uint64

	mu        sync.Mutex
	down      bool
	disabled  bool // by an operator (Sets.SetEnabled): no new calls, whatever probes say
	downSince time.Time
	fails     int // consecutive failures (probes or calls)
	oks       int // consecutive successful probes while down
	rtt       time.Duration
	measured  bool
	active    int // calls in progress through this node
	remote    int // calls in progress through the cluster's other nodes (SetRemoteCounts)
}

// change is a state transition to log: "" when the state did not change.
type change string

const (
	wentDown change = "down"
	wentUp   change = "up"
)

// failure records a failed probe or call; it returns wentDown when it
// crosses the threshold.
func (h *health) failure(now time.Time, threshold int) change {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.oks = 0
	h.fails++
	if !h.down && h.fails >= threshold {
		h.down, h.downSince = true, now
		return wentDown
	}
	if h.down {
		h.downSince = now // a failed retry keeps it out longer
	}
	return ""
}

// success records a successful probe (or a real answer: then threshold is
// 1); it returns wentUp when a member that was down has answered
// threshold times in a row.
func (h *health) success(threshold int) change {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails = 0
	if !h.down {
		return ""
	}
	h.oks++
	if h.oks >= threshold {
		h.down, h.oks = false, 0
		return wentUp
	}
	return ""
}

// sample folds a probe round trip into the moving average (alpha 0.25).
func (h *health) sample(rtt time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.measured {
		h.rtt, h.measured = rtt, true
		return
	}
	h.rtt += (rtt - h.rtt) / 4
}

// usable reports whether the member may get a call now: it is not
// disabled by an operator; it is up, or, in a set without probing, its
// time out is over (a retry); and it is below maxCalls (0: no cap).
func (h *health) usable(now time.Time, probing bool, maxCalls int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.disabled {
		return false
	}
	if h.down && (probing || now.Sub(h.downSince) < retryAfter) {
		return false
	}
	return maxCalls == 0 || h.active+h.remote < maxCalls
}

// snapshot reads what selection sorts on: the calls in progress through
// every node of the cluster.
func (h *health) snapshot() (active int, rtt time.Duration, measured bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.active + h.remote, h.rtt, h.measured
}

func (h *health) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

func (h *health) isDisabled() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.disabled
}

// setDisabled sets the operator's state apart from the health probes and
// calls keep (a probe answered does not enable a disabled member); it
// reports whether the state changed.
func (h *health) setDisabled(off bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.disabled
	h.disabled = off
	return was != off
}

func (h *health) addActive(n int) {
	h.mu.Lock()
	h.active = max(0, h.active+n)
	h.mu.Unlock()
}

// registry holds the health of every member and the calls in progress
// by Call-ID; it outlives reloads.
type registry struct {
	mu      sync.Mutex
	members map[string]*health
	calls   map[string]callEntry
	added   int // calls recorded since the last sweep
}

type callEntry struct {
	h     *health
	since time.Time
}

func newRegistry() *registry {
	return &registry{members: map[string]*health{}, calls: map[string]callEntry{}}
}

// member returns the health of set's member uri, creating it.
func (r *registry) member(set, uri string) *health {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := set + "\x00" + uri
	h, ok := r.members[k]
	if !ok {
		h = &health{}
		r.members[k] = h
	}
	return h
}

// maxCallAge drops a call in progress whose end was never reported.
const maxCallAge = 12 * time.Hour

// answered records that callID was answered by h: it stays active until
// ended.
func (r *registry) answered(callID string, h *health, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.calls[callID]; ok {
		old.h.addActive(-1) // counted once per Call-ID
	}
	r.calls[callID] = callEntry{h: h, since: now}
	if r.added++; r.added >= 4096 { // sweep calls whose BYE we never saw
		r.added = 0
		for id, c := range r.calls {
			if now.Sub(c.since) > maxCallAge {
				c.h.addActive(-1)
				delete(r.calls, id)
			}
		}
	}
}

// ended releases the call in progress callID, if one is counted.
func (r *registry) ended(callID string) {
	r.mu.Lock()
	c, ok := r.calls[callID]
	delete(r.calls, callID)
	r.mu.Unlock()
	if ok {
		c.h.addActive(-1)
	}
}
