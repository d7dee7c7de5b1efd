package trunk

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when the test steps it: step waits
// until the expected number of timers are pending (every registration is
// blocked), then fires the earliest.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{}
}

type fakeTimer struct {
	c  *fakeClock
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.signal()
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.c.timers = slices.DeleteFunc(t.c.timers, func(x *fakeTimer) bool { return x == t })
	t.c.signal()
}

func (c *fakeClock) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// step waits (at most 5s of real time) until n timers are pending, fires
// the earliest and returns the new fake time.
func (c *fakeClock) step(t *testing.T, n int) time.Time {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			i := 0
			for j, x := range c.timers {
				if x.at.Before(c.timers[i].at) {
					i = j
				}
			}
			x := c.timers[i]
			c.timers = slices.Delete(c.timers, i, i+1)
			if x.at.After(c.now) {
				c.now = x.at
			}
			x.ch <- c.now
			now := c.now
			c.mu.Unlock()
			return now
		}
		c.mu.Unlock()
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("fake clock: %d timers pending, want %d", c.pending(), n)
		}
	}
}

// settle waits until n timers are pending without firing any.
func (c *fakeClock) settle(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for c.pending() < n {
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("fake clock: %d timers pending, want %d", c.pending(), n)
		}
	}
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// runUntil steps the clock until fake time reaches end (n timers pending at
// each step), bounded in steps.
func (c *fakeClock) runUntil(t *testing.T, n int, end time.Time) {
	t.Helper()
	for range 10000 {
		c.settle(t, n)
		c.mu.Lock()
		next := c.timers[0].at
		for _, x := range c.timers {
			if x.at.Before(next) {
				next = x.at
			}
		}
		if next.After(end) {
			if c.now.Before(end) {
				c.now = end // time passes with no timer due
			}
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.step(t, n)
	}
	t.Fatal("fake clock: too many steps")
}
