package nat

import (
	"context"
	"log/slog"
	"net"
	"time"
)

// Keepalive pings NATed UDP contacts at a fixed interval so their NAT
// bindings stay open. Each round it asks Targets for the current list of
// "ip:port" addresses and calls Send for each, one after the other.
type Keepalive struct {
	interval time.Duration
	targets  func() []string
	send     func(ctx context.Context, addr string) error
	log      *slog.Logger
}

// NewKeepalive returns a pinger sending to the addresses targets lists every
// interval. send must return quickly (fire and forget: do not wait for an
// OPTIONS answer); CRLFSender is one.
func NewKeepalive(interval time.Duration, targets func() []string, send func(ctx context.Context, addr string) error, log *slog.Logger) *Keepalive {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Keepalive{interval: interval, targets: targets, send: send, log: log.With("component", "nat")}
}

// Run pings every interval until ctx ends, then returns ctx's error. It is
// the pinger's only goroutine: run it once.
func (k *Keepalive) Run(ctx context.Context) error {
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			k.round(ctx)
		}
	}
}

// round sends one ping to every target; a round never outlasts the interval.
func (k *Keepalive) round(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, k.interval)
	defer cancel()
	sent, failed := 0, 0
	for _, addr := range k.targets() {
		if ctx.Err() != nil {
			break
		}
		if err := k.send(ctx, addr); err != nil {
			failed++
			k.log.Debug("keepalive not sent", "dst", addr, "error", err)
			continue
		}
		sent++
	}
	if failed > 0 {
		k.log.Info("keepalive round", "sent", sent, "failed", failed)
	}
}

// CRLFSender returns a send func for Keepalive that writes a CRLF keepalive
// ("\r\n\r\n", RFC 5626 §4.4.1 style) from pc, which must be the SIP UDP
// socket the client registered through, so the same NAT binding is used.
func CRLFSender(pc net.PacketConn) func(ctx context.Context, addr string) error {
	ping := []byte("\r\n\r\n")
	return func(_ context.Context, addr string) error {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return err
		}
		_, err = pc.WriteTo(ping, ua)
		return err
	}
}
