package trunk

import (
	"sync"
	"time"
)

// bucket spaces the REGISTERs of every registration of a Manager: one
// every interval, no burst, so the rate never exceeds the cap.
type bucket struct {
	clock    Clock
	interval time.Duration

	mu   sync.Mutex
	next time.Time
}

func newBucket(c Clock, perSecond float64) *bucket {
	return &bucket{clock: c, interval: time.Duration(float64(time.Second) / perSecond)}
}

// reserve takes the next free slot and says how long to wait for it.
func (b *bucket) reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if b.next.Before(now) {
		b.next = now
	}
	d := b.next.Sub(now)
	b.next = b.next.Add(b.interval)
	return d
}
