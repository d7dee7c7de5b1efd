package rtpengine

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// NodeState is a node's health as seen by the client.
type NodeState int

// Node states.
const (
	// StateUp: the node answers and takes new calls.
	StateUp NodeState = iota
	// StateOverloaded: the node answered "load limit", "Ran out of ports" or
	// "Parallel session limit reached". It takes no new calls for
	// disable_duration, but its existing calls go on.
	StateOverloaded
	// StateFailed: the node did not answer in time. It takes no new calls,
	// and commands for calls pinned to it fail at once with ErrNodeDown,
	// until a ping succeeds after disable_duration.
	StateFailed
)

// String returns "up", "overloaded" or "failed".
func (s NodeState) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateOverloaded:
		return "overloaded"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("NodeState(%d)", int(s))
}

// delivery is what the reader hands to a waiting caller.
type delivery struct {
	msg []byte // the whole message, cookie included (a private copy)
	err error
}

// node is one rtpengine ng listener: its socket, the requests waiting for a
// reply on it, its health and its counters.
type node struct {
	addr     string // as configured, e.g. "udp:127.0.0.1:22222"
	network  string
	hostport string
	weight   int
	set      string
	maxReply int
	resend   time.Duration
	log      *slog.Logger
	tr       transport
	// closing is the Client's stop signal: it ends waits for replies.
	closing <-chan struct{}

	mu      sync.Mutex
	pending map[string]chan delivery

	hmu      sync.Mutex
	state    NodeState
	disabled bool
	until    time.Time // no return to StateUp before this

	stats counters
}

// dispatch hands one received message to the caller waiting for its
// cookie; messages for no waiting caller (late, duplicate, foreign) are
// dropped and counted.
func (n *node) dispatch(msg []byte, tooLarge bool) {
	sp := bytes.IndexByte(msg, ' ')
	if sp <= 0 || sp > maxCookieLen {
		n.stats.dropped.Add(1)
		return
	}
	n.mu.Lock()
	ch, ok := n.pending[string(msg[:sp])]
	if ok {
		delete(n.pending, string(msg[:sp]))
	}
	n.mu.Unlock()
	if !ok {
		n.stats.dropped.Add(1)
		return
	}
	d := delivery{}
	if tooLarge {
		d.err = fmt.Errorf("%w: more than %d bytes", ErrReplyTooLarge, n.maxReply)
	} else {
		d.msg = append([]byte(nil), msg...)
	}
	ch <- d // buffered, and only one sender can find ch
}

// dispatchError hands a framing error to the caller whose cookie starts
// buf, if any.
func (n *node) dispatchError(buf []byte, err error) {
	sp := bytes.IndexByte(buf, ' ')
	if sp <= 0 || sp > maxCookieLen {
		n.stats.dropped.Add(1)
		return
	}
	n.mu.Lock()
	ch, ok := n.pending[string(buf[:sp])]
	if ok {
		delete(n.pending, string(buf[:sp]))
	}
	n.mu.Unlock()
	if !ok {
		n.stats.dropped.Add(1)
		return
	}
	ch <- delivery{err: err}
}

// exchange sends msg and waits for the reply with the same cookie,
// resending the same bytes with doubling waits (resend, 2x, 4x, 4x, ...)
// until ctx is done or the Client closes (ErrClosed). It returns the
// reply's dictionary.
func (n *node) exchange(ctx context.Context, cookie string, msg []byte) ([]byte, error) {
	ch := make(chan delivery, 1)
	n.mu.Lock()
	n.pending[cookie] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, cookie)
		n.mu.Unlock()
	}()

	n.stats.requests.Add(1)
	start := time.Now()
	if err := n.tr.send(ctx, msg); err != nil {
		n.stats.sendErrors.Add(1)
	}
	wait := n.resend
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case d := <-ch:
			if d.err != nil {
				n.stats.errors.Add(1)
				return nil, d.err
			}
			n.stats.observe(time.Since(start))
			return d.msg[len(cookie)+1:], nil
		case <-t.C:
			n.stats.resends.Add(1)
			if err := n.tr.send(ctx, msg); err != nil {
				n.stats.sendErrors.Add(1)
			}
			if wait < 4*n.resend {
				wait *= 2
			}
			t.Reset(wait)
		case <-ctx.Done():
			n.stats.timeouts.Add(1)
			return nil, ctx.Err()
		case <-n.closing:
			return nil, ErrClosed
		}
	}
}

// health returns the node's state and whether an operator disabled it.
func (n *node) health() (NodeState, bool) {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	return n.state, n.disabled
}

// usable reports whether the node may take a new call.
func (n *node) usable() bool {
	s, off := n.health()
	return s == StateUp && !off
}

// mark moves the node out of StateUp for at least d.
func (n *node) mark(s NodeState, d time.Duration, why error) {
	n.hmu.Lock()
	old := n.state
	if s >= n.state {
		n.state = s
		n.until = time.Now().Add(d)
	}
	n.hmu.Unlock()
	if old != s {
		n.log.Warn("rtpengine node taken out of rotation", "node", n.addr, "state", s.String(), "for", d, "error", why)
	}
}

// probed records a ping outcome: success brings the node back once its
// disable time is over; failure marks it failed.
func (n *node) probed(ok bool, d time.Duration, err error) {
	if !ok {
		n.mark(StateFailed, d, err)
		return
	}
	n.hmu.Lock()
	old := n.state
	back := old != StateUp && !time.Now().Before(n.until)
	if back {
		n.state = StateUp
	}
	n.hmu.Unlock()
	if back {
		n.log.Info("rtpengine node back in rotation", "node", n.addr, "was", old.String())
	}
}
