package rtpengine

import (
	"sync/atomic"
	"time"
)

// LatencyBounds are the upper bounds of the latency histogram buckets in
// NodeStats.LatencyBuckets; the last bucket counts everything slower.
func LatencyBounds() []time.Duration {
	b := latencyBounds()
	return b[:]
}

const numBuckets = 13 // len(latencyBounds()) + 1

// latencyBounds returns the bucket bounds as an array (no allocation).
func latencyBounds() [numBuckets - 1]time.Duration {
	return [numBuckets - 1]time.Duration{
		250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond,
		2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond,
		25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
		250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	}
}

// counters are one node's running totals, updated without locks.
type counters struct {
	requests   atomic.Uint64
	replies    atomic.Uint64
	resends    atomic.Uint64
	timeouts   atomic.Uint64
	errors     atomic.Uint64
	overloads  atomic.Uint64
	dropped    atomic.Uint64
	sendErrors atomic.Uint64
	latencySum atomic.Int64 // nanoseconds
	buckets    [numBuckets]atomic.Uint64
}

// observe records a reply and its round-trip time.
func (c *counters) observe(d time.Duration) {
	c.replies.Add(1)
	c.latencySum.Add(int64(d))
	i := 0
	for _, b := range latencyBounds() {
		if d <= b {
			break
		}
		i++
	}
	c.buckets[i].Add(1)
}

// NodeStats is a snapshot of one node's health and counters, for metrics
// and the admin API.
type NodeStats struct {
	Address  string    // node address as configured
	Set      string    // node set
	Weight   int       // relative share of new calls
	State    NodeState // health
	Disabled bool      // disabled by an operator (Disable)

	Requests   uint64 // commands sent (first copies)
	Replies    uint64 // replies matched to a waiting command
	Resends    uint64 // extra copies sent after a resend interval
	Timeouts   uint64 // commands given up without reply on this node
	Errors     uint64 // error replies, malformed and oversize replies
	Overloads  uint64 // "load limit" and out-of-capacity answers
	Dropped    uint64 // replies nobody waited for (late, duplicate, foreign)
	SendErrors uint64 // socket write failures
	Pinned     int    // calls currently pinned to this node

	LatencySum     time.Duration // sum of round-trip times of Replies
	LatencyBuckets []uint64      // counts per LatencyBounds bucket, plus +Inf
}

// snapshot copies the counters.
func (n *node) snapshot() NodeStats {
	st, off := n.health()
	s := NodeStats{
		Address: n.addr, Set: n.set, Weight: n.weight, State: st, Disabled: off,
		Requests:   n.stats.requests.Load(),
		Replies:    n.stats.replies.Load(),
		Resends:    n.stats.resends.Load(),
		Timeouts:   n.stats.timeouts.Load(),
		Errors:     n.stats.errors.Load(),
		Overloads:  n.stats.overloads.Load(),
		Dropped:    n.stats.dropped.Load(),
		SendErrors: n.stats.sendErrors.Load(),
		LatencySum: time.Duration(n.stats.latencySum.Load()),
	}
	s.LatencyBuckets = make([]uint64, numBuckets)
	for i := range s.LatencyBuckets {
		s.LatencyBuckets[i] = n.stats.buckets[i].Load()
	}
	return s
}
