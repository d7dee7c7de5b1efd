package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// closing is the gateway's stop signal: a channel closed once, when the
// gateway starts shutting down. Request contexts end with it.
type closing struct {
	once sync.Once
	ch   chan struct{}
}

func newClosing() *closing { return &closing{ch: make(chan struct{})} }

// close signals; idempotent.
func (c *closing) close() { c.once.Do(func() { close(c.ch) }) }

// lifetime is the context every request handler gets: done when the
// gateway closes, with no deadline and no values. Work that must outlive
// a shutdown (the BYEs that end calls) detaches with context.WithoutCancel.
func (g *Gateway) lifetime() context.Context { return lifetimeContext{g.closing.ch} }

type lifetimeContext struct{ done <-chan struct{} }

func (lifetimeContext) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c lifetimeContext) Done() <-chan struct{}     { return c.done }
func (lifetimeContext) Value(any) any               { return nil }
func (c lifetimeContext) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// stackGuard keeps what the gateway sends through sipgo from outliving the
// UA. sipgo serves a request sent after its transport layer closed: it
// binds a new socket (for UDP, to the closed listener's address) with a
// reader goroutine, and nobody closes either. Sends hold the guard; close
// waits for them and refuses the later ones.
type stackGuard struct {
	mu     sync.RWMutex
	closed bool
}

// enter reports whether the stack may be used; a true enter must be
// followed by leave once the send returned.
func (s *stackGuard) enter() bool {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return false
	}
	return true
}

func (s *stackGuard) leave() { s.mu.RUnlock() }

// close waits for the sends under way and refuses later ones; idempotent.
func (s *stackGuard) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// tracked counts each run of h in g.handlers, so that shutdown can wait for
// them (sipgo starts a goroutine per request and waits for none). Once the
// gateway is closing, new requests are dropped unanswered.
func (g *Gateway) tracked(h func(*sip.Request, sip.ServerTransaction)) func(*sip.Request, sip.ServerTransaction) {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !g.handlers.enter() {
			g.log.Debug("request dropped: shutting down", "method", req.Method.String(), "call_id", callID(req))
			return
		}
		defer g.handlers.leave()
		g.active.Add(1)
		defer g.active.Add(-1)
		h(req, tx)
	}
}
