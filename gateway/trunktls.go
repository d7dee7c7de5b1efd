package gateway

import (
	"context"
	stdtls "crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
)

// ErrTLSName is a trunk's TLS connection refused because the provider's
// certificate does not carry the name of the trunk URI (or does not
// verify at all).
var ErrTLSName = errors.New("gateway: trunk certificate not valid for its name")

// tlsNamed opens the TLS connections toward trunk hops resolved from a
// host name, verified against that name (SNI and ServerName), and hands
// them to sipgo, which would otherwise dial the resolved address and
// check the certificate against the IP. A connection opened here is
// served like one a listener accepted (the handoff listener), so sipgo
// reuses it for every request to that address and reads its responses.
type tlsNamed struct {
	base *stdtls.Config // the client TLS settings (nil: system roots, TLS 1.2+)
	ln   *handoff
	log  *slog.Logger

	mu    sync.Mutex
	dials map[string]*sync.Mutex // one dial at a time per address
}

func newTLSNamed(base *stdtls.Config, log *slog.Logger) *tlsNamed {
	return &tlsNamed{base: base, ln: newHandoff(), log: log, dials: map[string]*sync.Mutex{}}
}

// ensure makes sure sipgo holds a TLS connection to t.Addr whose
// certificate was verified for t.TLSName, opening one if it has none.
func (n *tlsNamed) ensure(ctx context.Context, tl *sip.TransportLayer, t route.Target) error {
	if _, err := tl.GetConnection("tls", t.Addr); err == nil {
		return nil
	}
	n.mu.Lock()
	m, ok := n.dials[t.Addr]
	if !ok {
		m = &sync.Mutex{}
		n.dials[t.Addr] = m
	}
	n.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	if _, err := tl.GetConnection("tls", t.Addr); err == nil {
		return nil // opened while we waited
	}
	cfg := &stdtls.Config{MinVersion: stdtls.VersionTLS12}
	if n.base != nil {
		cfg = n.base.Clone()
	}
	cfg.ServerName = t.TLSName
	d := stdtls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
	c, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		var ce *stdtls.CertificateVerificationError
		if errors.As(err, &ce) {
			n.log.Warn("trunk TLS certificate refused", "trunk", t.Trunk, "name", t.TLSName, "dst", t.Addr, "error", err)
			return fmt.Errorf("%w: %s at %s: %w", ErrTLSName, t.TLSName, t.Addr, err)
		}
		return fmt.Errorf("%w: tls %s: %w", ErrUnreachable, t.Addr, err)
	}
	if !n.ln.give(ctx, c) {
		_ = c.Close()
		return ErrClosed
	}
	// sipgo's Serve adds it to its pool before it accepts again.
	for range 1000 {
		if _, err := tl.GetConnection("tls", t.Addr); err == nil {
			return nil
		}
		if !sleepCtx(ctx, time.Millisecond) {
			break
		}
	}
	return fmt.Errorf("%w: tls %s: connection not taken up", ErrUnreachable, t.Addr)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// handoff is a net.Listener whose Accept returns the connections given to
// it: sipgo's ServeTLS serves it (owner: Run, which closes it).
type handoff struct {
	addr   net.Addr // what Addr reports: sipgo takes its port as a TLS listen port
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoff() *handoff {
	return &handoff{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// give hands c to the Accept loop; false once closed or ctx ended.
func (h *handoff) give(ctx context.Context, c net.Conn) bool {
	select {
	case h.conns <- c:
		return true
	case <-h.closed:
	case <-ctx.Done():
	}
	return false
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}

// Addr is the gateway's TLS listener's address when there is one (set by
// Run before serving), else 127.0.0.1:0.
func (h *handoff) Addr() net.Addr { return h.addr }

// tlsName is the name a trunk hop over TLS resolved from URI u must prove
// (u's host when it is a name), "" for an address or another transport.
func tlsName(h route.Target, u sip.Uri) string {
	if !strings.EqualFold(h.Transport, "tls") {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(u.Host, "[]")); err == nil {
		return ""
	}
	return strings.TrimSuffix(u.Host, ".")
}
