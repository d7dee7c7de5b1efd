package listen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// readChunk is the least free room a read is given; the buffer grows by
// doubling from it up to max_message_size+1.
const readChunk = 4096

// sipConn is a stream connection read one SIP message (or keepalive) at a
// time. Read is called by one goroutine (sipgo's reader); Write by any.
type sipConn struct {
	net.Conn
	s *Streams
	f framer

	buf     []byte    // received, not yet framed; never compacted in place, so handed-out messages stay valid
	out     []byte    // framed, not yet returned by Read
	started time.Time // when the first byte of the message in buf arrived
	shook   bool      // TLS handshake done (or not a TLS connection)
	tls     bool      // a TLS connection (for the tap)
	err     error     // set once the connection is ended here: what Read returns

	closeOnce sync.Once
	closeErr  error
}

type handshaker interface {
	HandshakeContext(context.Context) error
}

func newSIPConn(c net.Conn, s *Streams) *sipConn {
	_, isTLS := c.(handshaker)
	return &sipConn{Conn: c, s: s, f: framer{max: s.cfg.MaxMessageSize}, shook: !isTLS, tls: isTLS}
}

// Read returns the next bytes of the current message, or of the next unit
// (message or keepalive) once framed and filtered. A connection cut by a
// deadline or a framing error is closed and reads io.EOF.
func (c *sipConn) Read(b []byte) (int, error) {
	if len(c.out) > 0 {
		return c.deliver(b), nil
	}
	if c.err != nil {
		return 0, c.err
	}
	if !c.shook {
		c.shook = true
		if err := c.handshake(); err != nil {
			return 0, err
		}
	}
	for {
		kind, n, hdr, err := c.f.next(c.buf)
		if err != nil {
			return 0, c.brokenMessage(err, hdr)
		}
		switch kind {
		case unitKeepalive:
			c.out = c.take(n)
			return c.deliver(b), nil
		case unitMessage:
			msg := c.take(n)
			if c.s.tap != nil {
				c.s.tap(c.Conn, c.tls, msg, false)
			}
			if c.out = c.filter(msg); len(c.out) > 0 {
				return c.deliver(b), nil
			}
			continue
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
}

// deliver copies pending framed bytes into b.
func (c *sipConn) deliver(b []byte) int {
	n := copy(b, c.out)
	c.out = c.out[n:]
	return n
}

// take removes the first n bytes of buf and returns them.
func (c *sipConn) take(n int) []byte {
	unit := c.buf[:n:n]
	c.buf = c.buf[n:]
	if len(c.buf) == 0 {
		c.buf, c.started = nil, time.Time{}
	} else {
		c.started = time.Now() // pipelined: the next message has begun
	}
	return unit
}

// fill reads more bytes into buf, under the idle deadline between messages
// and the message deadline within one.
func (c *sipConn) fill() error {
	idle := len(c.buf) == 0
	deadline, why := c.started.Add(c.s.cfg.MessageTimeout), ErrMessageTimeout
	if idle {
		deadline, why = time.Now().Add(c.s.cfg.IdleTimeout), ErrIdleTimeout
	}
	if err := c.Conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	limit := c.s.cfg.MaxMessageSize + 1 // one more than allowed: enough to see it is too large
	if cap(c.buf)-len(c.buf) < readChunk/8 && cap(c.buf) < limit {
		nb := make([]byte, len(c.buf), min(max(2*cap(c.buf), readChunk), limit))
		copy(nb, c.buf)
		c.buf = nb
	}
	room := c.buf[len(c.buf):min(cap(c.buf), limit)]
	n, err := c.Conn.Read(room)
	if n > 0 {
		if idle {
			c.started = time.Now()
		}
		c.buf = c.buf[:len(c.buf)+n]
		return nil
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if why == ErrIdleTimeout {
			c.s.idle.event("src", c.RemoteAddr().String(), "idle_timeout", c.s.cfg.IdleTimeout)
		} else {
			c.s.cut.event("src", c.RemoteAddr().String(), "message_timeout", c.s.cfg.MessageTimeout, "received", len(c.buf))
		}
		return c.end()
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// handshake runs the TLS handshake under message_timeout.
func (c *sipConn) handshake() error {
	hs := c.Conn.(handshaker)
	if err := c.Conn.SetDeadline(time.Now().Add(c.s.cfg.MessageTimeout)); err != nil {
		return err
	}
	if err := hs.HandshakeContext(context.Background()); err != nil {
		why := err
		if errors.Is(err, os.ErrDeadlineExceeded) {
			why = ErrHandshakeTimeout
		}
		c.s.handshake.event("src", c.RemoteAddr().String(), "error", why)
		return c.end()
	}
	return c.Conn.SetWriteDeadline(time.Time{})
}

// brokenMessage answers a message that cannot be framed, when it is a
// request with the headers to answer, and ends the connection.
func (c *sipConn) brokenMessage(err error, hdr int) error {
	if hdr > 0 {
		code, reason := replyStatus(err)
		if r := statelessReply(c.buf[:hdr], code, reason); r != nil {
			_, _ = c.Write(r)
		}
	}
	c.s.broken.event("src", c.RemoteAddr().String(), "error", err)
	return c.end()
}

// filter runs the Streams' filter on msg, writes its reply and returns what
// to hand on (nil: skip).
func (c *sipConn) filter(msg []byte) []byte {
	if c.s.filter == nil {
		return msg
	}
	out, reply, err := c.s.filter(msg, c.RemoteAddr())
	if len(reply) > 0 {
		_, _ = c.Write(reply) // a failed write shows up on the next read
	}
	if err != nil {
		c.s.refused.event("src", c.RemoteAddr().String(), "error", err)
	}
	return out
}

// end closes the connection (the caller has logged why); Read returns io.EOF from now on, so
// the SIP stack sees an ordinary close.
func (c *sipConn) end() error {
	c.err, c.buf, c.out = io.EOF, nil, nil
	_ = c.Close()
	return io.EOF
}

// Close closes the connection once; later calls (the SIP stack closes a
// connection again after Read reports its end) return the first result.
func (c *sipConn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.Conn.Close() })
	return c.closeErr
}

// Write writes b under write_timeout. The SIP stack writes one whole
// message per call; the tap sees it (keepalives, 4 bytes or fewer, not).
func (c *sipConn) Write(b []byte) (int, error) {
	if c.s.tap != nil && len(b) > 4 {
		c.s.tap(c.Conn, c.tls, b, true)
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}
