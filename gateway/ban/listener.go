package ban

import (
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Listener wraps ln (a TCP listener, below any TLS layer and the
// connection caps) so that a connection from a banned source is closed at
// accept, before any byte is read or any TLS handshake is made. Refusals
// are logged at debug, at most once a second with a count. b nil returns
// ln unchanged.
func Listener(ln net.Listener, b *Bans) net.Listener {
	if b == nil || b.cfg.Off {
		return ln
	}
	return &listener{Listener: ln, b: b}
}

type listener struct {
	net.Listener
	b       *Bans
	refused atomic.Int64
	last    atomic.Int64 // unix ns of the last log line
}

// Accept returns the next connection from a source not banned.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		var ip netip.Addr
		if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			ip = a.AddrPort().Addr()
		}
		if !ip.IsValid() || !l.b.Banned(ip) {
			return c, nil
		}
		_ = c.Close()
		n := l.refused.Add(1)
		now := time.Now().UnixNano()
		if last := l.last.Load(); now-last >= int64(time.Second) && l.last.CompareAndSwap(last, now) {
			l.refused.Add(-n)
			l.b.log.Debug("connections from banned sources closed at accept", slog.Int64("count", n),
				"last_src", ip.Unmap().String(), "addr", l.Addr().String())
		}
	}
}
