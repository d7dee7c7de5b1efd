package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/sipedge/sipedge/gateway/wire"
)

// Bad-input logging: anyone can send garbage, so every line it causes is
// rate-limited (a flood must not fill the disk) and never carries the
// message's own octets.
const (
	// logBurst records with the same message pass per logInterval; the
	// rest are counted and reported in one summary line at its end.
	logBurst    = 3
	logInterval = 10 * time.Second
)

// limiter lets the first burst records of each message text through per
// interval and sums the rest into one "log lines suppressed" record when
// the interval ends. Debug records are not limited. Close stops its timer
// and writes the pending summaries.
type limiter struct {
	interval time.Duration
	burst    int

	mu     sync.Mutex
	keys   map[string]*window
	timer  *time.Timer // armed while a window has suppressed records
	closed bool
}

// window counts one message text's records in the current interval.
type window struct {
	start      time.Time
	passed     int
	suppressed int
	level      slog.Level
	h          slog.Handler // writes the summary
}

func newLimiter(interval time.Duration, burst int) *limiter {
	return &limiter{interval: interval, burst: burst, keys: make(map[string]*window)}
}

// allow reports whether a record with msg may be written by h now.
func (l *limiter) allow(msg string, lvl slog.Level, h slog.Handler) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[msg]
	if w == nil || now.Sub(w.start) >= l.interval && w.suppressed == 0 {
		w = &window{start: now}
		l.keys[msg] = w
	}
	if w.passed < l.burst {
		w.passed++
		return true
	}
	w.suppressed++
	w.level, w.h = max(w.level, lvl), h
	if l.timer == nil && !l.closed {
		l.timer = time.AfterFunc(max(w.start.Add(l.interval).Sub(now), 0), func() { l.flush(false) })
	}
	return false
}

// flush writes a summary for every window whose interval ended (all of
// them when final) and re-arms the timer for the others.
func (l *limiter) flush(final bool) {
	type summary struct {
		msg string
		w   window
	}
	var out []summary
	now := time.Now()
	l.mu.Lock()
	l.timer = nil
	var next time.Duration
	for msg, w := range l.keys {
		if w.suppressed == 0 {
			if now.Sub(w.start) >= l.interval {
				delete(l.keys, msg)
			}
			continue
		}
		end := w.start.Add(l.interval)
		if !final && now.Before(end) {
			if d := end.Sub(now); next == 0 || d < next {
				next = d
			}
			continue
		}
		out = append(out, summary{msg, *w})
		delete(l.keys, msg)
	}
	if next > 0 && !l.closed && !final {
		l.timer = time.AfterFunc(next, func() { l.flush(false) })
	}
	l.mu.Unlock()
	for _, s := range out {
		r := slog.NewRecord(now, s.w.level, "log lines suppressed", 0)
		r.AddAttrs(slog.String("message", s.msg), slog.Int("count", s.w.suppressed),
			slog.Duration("interval", now.Sub(s.w.start).Round(time.Millisecond)))
		_ = s.w.h.Handle(context.Background(), r)
	}
}

// Close stops the timer and writes the pending summaries. Idempotent.
func (l *limiter) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	l.flush(true)
}

// limitHandler is a slog.Handler that passes records through a limiter.
type limitHandler struct {
	slog.Handler
	l *limiter
}

// Handle implements slog.Handler.
func (h limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && !h.l.allow(r.Message, r.Level, h.Handler) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return limitHandler{h.Handler.WithAttrs(as), h.l}
}

// WithGroup implements slog.Handler.
func (h limitHandler) WithGroup(name string) slog.Handler {
	return limitHandler{h.Handler.WithGroup(name), h.l}
}

// badInput logs one message refused or dropped at the edge (rate-limited,
// without its octets).
func (g *Gateway) badInput(transport, src string, size int, err error) {
	code := 0
	var we *wire.Error
	if errors.As(err, &we) {
		code = we.Code
	}
	if code == 0 {
		g.badLog.Info("bad SIP message dropped", "transport", transport, "src", src, "len", size, "error", err)
		return
	}
	g.badLog.Info("bad SIP request answered", "transport", transport, "src", src, "len", size, "code", code, "error", err)
}

// checkedConn is the UDP socket handed to sipgo: every datagram goes
// through wire.CheckFrom (with its source address, which it records in the
// top Via as received/rport) before sipgo parses it. Refused requests are answered
// from here, statelessly, on the same socket; dropped and refused messages
// never reach sipgo. A wrapper of the socket (rather than sipgo's
// TransportReadFilter) because the filter is one per transport layer and
// also sees raw TCP stream reads, not messages; it cannot send an answer;
// and an error from it ends sipgo's read loop.
type checkedConn struct {
	net.PacketConn
	g *Gateway
}

// ReadFrom implements net.PacketConn: it returns the next datagram that
// passed wire.Check, normalised.
func (c checkedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		ap := addrPort(addr)
		if c.g.banDatagram(p[:n], ap.Addr()) {
			continue // banned: no answer, not even a stateless one
		}
		out, reply, cerr := wire.CheckFrom(p[:n], ap)
		if reply != nil {
			if _, werr := c.PacketConn.WriteTo(reply, addr); werr != nil {
				c.g.log.Debug("stateless answer not sent", "dst", addr.String(), "error", werr)
			}
		}
		if cerr != nil {
			c.g.badInput("udp", addr.String(), n, cerr)
			continue
		}
		if out == nil || len(out) > len(p) {
			// A keepalive (sipgo would ignore it too), or a datagram that
			// filled sipgo's read buffer and no longer fits once stamped
			// with its source.
			continue
		}
		if c.g.answerDatagram(out, addr, c.PacketConn) {
			continue // a REGISTER for us, answered here (answers.go)
		}
		return copy(p, out), addr, nil
	}
}

// checkStream is the default Deps.TCPFilter: wire.CheckFrom with the
// connection's remote address, so that the top Via of every request names
// where it came from (RFC 3261 §18.2.1) and a response whose connection is
// gone goes to that address (§18.2.2), never to a DNS lookup of sent-by.
func checkStream(msg []byte, src net.Addr) (out, reply []byte, err error) {
	return wire.CheckFrom(msg, addrPort(src))
}

// addrPort is a's IP address and port; invalid (no stamp) when a is not
// an IP address.
func addrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	case nil:
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
