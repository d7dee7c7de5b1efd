package gateway

import (
	"context"
	"sync"
	"time"
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
