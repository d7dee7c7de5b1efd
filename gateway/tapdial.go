package gateway

import (
	"context"
	stdtls "crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The TCP and TLS connections the gateway opens itself (to trunks, static
// routes, set members) must be tapped too, but sipgo dials them with a
// plain net.Dialer that cannot wrap the connection. So, with a tap
// installed, a request about to leave over TCP or TLS to an IP address with
// no connection yet has its connection dialled here, framed and tapped like
// an accepted one (listen.Streams.Wrap), and handed to sipgo through a
// listener that sipgo serves: its accept loop puts the connection in its
// pool before it asks for the next, so when the hand-over returns, sipgo
// sends the request down that connection instead of dialling its own.

// dialTimeout bounds a dial and TLS handshake when the request's context
// has no earlier deadline.
const dialTimeout = 10 * time.Second

// handedConn is one dialled connection on its way to sipgo's pool.
type handedConn struct {
	c      net.Conn
	pooled chan struct{} // closed when sipgo's accept loop is back (the conn is pooled)
}

// dialedListener is the net.Listener through which sipgo takes the
// connections the tap dialer opened. Accept is called by one goroutine
// (sipgo's accept loop).
type dialedListener struct {
	addr  net.Addr
	conns chan handedConn
	done  chan struct{}
	once  sync.Once
	last  *handedConn // handed by the previous Accept; only Accept's goroutine
}

func newDialedListener(addr net.Addr) *dialedListener {
	return &dialedListener{addr: addr, conns: make(chan handedConn), done: make(chan struct{})}
}

// Accept implements net.Listener. Being called again means the previous
// connection was pooled.
func (l *dialedListener) Accept() (net.Conn, error) {
	if l.last != nil {
		close(l.last.pooled)
		l.last = nil
	}
	select {
	case h := <-l.conns:
		l.last = &h
		return h.c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener; it is idempotent.
func (l *dialedListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr implements net.Listener: the address of the gateway's own listener
// of the same transport (sipgo records its port), or port 0.
func (l *dialedListener) Addr() net.Addr { return l.addr }

// hand gives c to sipgo and waits until it is pooled.
func (l *dialedListener) hand(ctx context.Context, c net.Conn) error {
	h := handedConn{c: c, pooled: make(chan struct{})}
	select {
	case l.conns <- h:
	case <-l.done:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-h.pooled:
		return nil
	case <-l.done:
		return net.ErrClosed
	case <-ctx.Done():
		return ctx.Err() // pooled a moment later; sipgo may dial one more
	}
}

// tapDialer opens tapped TCP and TLS connections for sipgo.
type tapDialer struct {
	g        *Gateway
	tcp, tls *dialedListener
	mu       sync.Mutex // one dial at a time: dials are rare, and two for one address would both be pooled
}

func newTapDialer(g *Gateway, bound []Listener) *tapDialer {
	addr := func(transport string) net.Addr {
		for _, l := range bound {
			if l.Transport == transport {
				if ap, err := netip.ParseAddrPort(l.Addr); err == nil {
					return net.TCPAddrFromAddrPort(ap)
				}
			}
		}
		return &net.TCPAddr{IP: net.IPv4zero}
	}
	return &tapDialer{g: g, tcp: newDialedListener(addr("tcp")), tls: newDialedListener(addr("tls"))}
}

// serves are the accept loops to run beside the listeners' (sipgo's, on
// the two hand-over listeners).
func (d *tapDialer) serves() []func() error {
	return []func() error{
		func() error { return d.g.srv.ServeTCP(d.tcp) },
		func() error { return d.g.srv.ServeTLS(d.tls) },
	}
}

// Close ends both accept loops.
func (d *tapDialer) Close() error {
	_ = d.tcp.Close()
	return d.tls.Close()
}

// prepare makes sure a TCP or TLS request to an IP address leaves on a
// tapped connection. Anything else (UDP, a host name sipgo resolves, a
// connection already pooled) is left to sipgo. A failed dial is returned:
// sipgo's own would fail the same way.
func (d *tapDialer) prepare(ctx context.Context, req *sip.Request) error {
	network := strings.ToLower(req.Transport())
	if network != "tcp" && network != "tls" {
		return nil
	}
	dst, err := netip.ParseAddrPort(req.Destination())
	if err != nil {
		return nil // a host name, or no port: sipgo resolves it and dials untapped
	}
	tl := d.g.ua.TransportLayer()
	if c, _ := tl.GetConnection(network, dst.String()); c != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, _ := tl.GetConnection(network, dst.String()); c != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", dst.String())
	if err != nil {
		return fmt.Errorf("gateway: dial %s %s: %w", network, dst, err)
	}
	l := d.tcp
	if network == "tls" {
		cfg := d.g.deps.ClientTLS
		if cfg == nil {
			cfg = &stdtls.Config{}
		}
		if cfg.ServerName == "" { // as sipgo: the host we were given, here an IP
			cfg = cfg.Clone()
			cfg.ServerName = dst.Addr().String()
		}
		tc := stdtls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return fmt.Errorf("gateway: tls handshake %s: %w", dst, err)
		}
		c, l = tc, d.tls
	}
	if err := l.hand(ctx, d.g.streams.Wrap(c)); err != nil {
		_ = c.Close()
		return fmt.Errorf("gateway: hand %s connection to %s: %w", network, dst, err)
	}
	return nil
}

// tapConn dials req's TCP or TLS connection for the tap (prepare), when
// there is a tap.
func (g *Gateway) tapConn(ctx context.Context, req *sip.Request) error {
	if g.dialer == nil {
		return nil
	}
	return g.dialer.prepare(ctx, req)
}
