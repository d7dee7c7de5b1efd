package listen

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Accept backoff after a failed accept, as net/http's Server.Serve.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = time.Second
)

// Limit wraps ln, a TCP listener (under any TLS layer), so that:
//   - Accept never returns an error but for a closed listener: on any other
//     (EMFILE, ENFILE, ENOBUFS, ECONNABORTED...) it waits, 5 ms doubling to
//     1 s while the errors last, and accepts again; Close ends the wait;
//   - a connection beyond caps (nil: none) is closed at once, before any
//     byte is read from it; the connections it lets through uncount
//     themselves when closed.
//
// Accept errors are logged ("accept failed, retrying", warn) and refusals
// ("connections refused at accept", warn), each at most once a second with
// a count. log nil discards.
func Limit(ln net.Listener, caps *Caps, log *slog.Logger) net.Listener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &limitListener{
		Listener: ln,
		caps:     caps,
		closed:   make(chan struct{}),
		failed:   newThrottle(log, slog.LevelWarn, "accept failed, retrying"),
		refused:  newThrottle(log, slog.LevelWarn, "connections refused at accept"),
	}
}

type limitListener struct {
	net.Listener
	caps *Caps

	closeOnce sync.Once
	closed    chan struct{} // closed by Close: ends a backoff wait
	closeErr  error

	failed, refused *throttle
}

// Accept returns the next connection within the caps.
func (l *limitListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.isClosed() {
				return nil, err
			}
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			l.failed.event("error", err, "retry_in", backoff, "addr", l.Addr().String())
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		backoff = 0
		if l.caps == nil {
			return c, nil
		}
		ip := sourceIP(c.RemoteAddr())
		if l.caps.Admit(ip) {
			return &countedConn{Conn: c, caps: l.caps, ip: ip}, nil
		}
		_ = c.Close()
		l.refused.event("reason", "too many connections", "last_ip", ip, "addr", l.Addr().String())
	}
}

func (l *limitListener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// Close closes the listener and ends a backoff wait; idempotent.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.closed)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

// countedConn uncounts itself once when closed (by sipgo, by net/http, or
// by the TLS layer above it).
type countedConn struct {
	net.Conn
	caps *Caps
	ip   string
	once sync.Once
}

// Close closes the connection and releases its place in the caps.
func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.caps.Release(c.ip) })
	return err
}
