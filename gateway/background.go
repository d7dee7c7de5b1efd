package gateway

import (
	"sync"
	"time"
)

// background runs the work handlers start and do not wait for (draining a
// CANCEL or BYE transaction, rtpengine deletes, ending the calls of a
// closed flow). Once closed it starts nothing more; close waits for what
// runs.
type background struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs f unless the gateway has finished shutting down; it reports
// whether f was started.
func (b *background) Go(f func()) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.wg.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.wg.Done()
		f()
	}()
	return true
}

// enter counts work that runs on a goroutine someone else started (sipgo
// runs each request handler on its own); it reports false, and counts
// nothing, once refuse or close was called. leave ends what enter counted.
func (b *background) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.wg.Add(1)
	return true
}

func (b *background) leave() { b.wg.Done() }

// refuse starts nothing more from now on, without waiting.
func (b *background) refuse() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// wait waits for the running work, at most d; it reports whether all of
// it ended.
func (b *background) wait(d time.Duration) bool {
	// Every Add so far was made under mu: this orders them before Wait
	// (sync.WaitGroup's rule, which the race detector checks).
	b.mu.Lock()
	//lint:ignore SA2001 the critical section is empty on purpose: it orders the Adds before Wait
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// close refuses new work and waits for the running work.
func (b *background) close() {
	b.refuse()
	b.wg.Wait()
}
