package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/sipedge/sipedge/gateway/route"
	"github.com/sipedge/sipedge/gateway/status"
)

// sender puts forwarded requests on the wire. The default sends through
// sipgo's transport layer (UDP, TCP, TLS); the WebSocket edge and tests
// supply their own.
type sender interface {
	// request starts a client transaction for req.
	request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error)
	// write sends req without a transaction (ACK for 2xx).
	write(req *sip.Request) error
}

// sipgoSender sends through the gateway's sipgo client.
type sipgoSender struct{ g *Gateway }

func (s sipgoSender) request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	if !s.g.stack.enter() {
		return nil, ErrClosed
	}
	defer s.g.stack.leave()
	if err := s.g.tapConn(ctx, req); err != nil {
		return nil, err
	}
	return s.g.cli.TransactionRequest(ctx, req, noBuild)
}

func (s sipgoSender) write(req *sip.Request) error {
	if !s.g.stack.enter() {
		return ErrClosed
	}
	defer s.g.stack.leave()
	if err := s.g.tapConn(context.Background(), req); err != nil {
		return err
	}
	return s.g.cli.WriteRequest(req, noBuild)
}

// transportOf is the transport a target is reached over (lower case); for
// a WebSocket flow, the flow's own (ws or wss).
func (g *Gateway) transportOf(t route.Target) (string, error) {
	if t.Flow == "" {
		return t.Transport, nil
	}
	f, ok := g.flow(t.Flow)
	if !ok {
		return "", status.New(430, "Flow Failed", fmt.Errorf("%w: flow %s is gone", ErrUnavailable, t.Flow))
	}
	return strings.ToLower(f.Transport()), nil
}

// address sets where req goes: transport, destination and our source
// address (UDP requests leave from the listener socket).
func (g *Gateway) address(req *sip.Request, t route.Target, out string) {
	req.SetTransport(strings.ToUpper(out))
	if t.Addr != "" {
		req.SetDestination(t.Addr)
	}
	if out == "udp" {
		req.Laddr = g.udpLaddr
	} else {
		req.Laddr = sip.Addr{}
	}
}

// request starts a client transaction toward t: down its WebSocket flow,
// or through sipgo's transport layer.
func (g *Gateway) request(ctx context.Context, req *sip.Request, t route.Target) (sip.ClientTransaction, error) {
	if t.Flow != "" {
		f, ok := g.flow(t.Flow)
		if !ok {
			return nil, fmt.Errorf("%w: flow %s is gone", ErrUnavailable, t.Flow)
		}
		return f.Request(ctx, req)
	}
	if t.TLSName != "" {
		if err := g.tlsNamed.ensure(ctx, g.ua.TransportLayer(), t); err != nil {
			return nil, err
		}
	}
	return g.out.request(ctx, req)
}

// write sends req toward t without a transaction (ACK for 2xx).
func (g *Gateway) write(req *sip.Request, t route.Target) error {
	if t.Flow != "" {
		f, ok := g.flow(t.Flow)
		if !ok {
			return fmt.Errorf("%w: flow %s is gone", ErrUnavailable, t.Flow)
		}
		return f.WriteMsg(req)
	}
	return g.out.write(req)
}

// drain reads a client transaction we started on our own (CANCEL, BYE,
// keepalive) until its final response or its end, in the background.
func (g *Gateway) drain(tx sip.ClientTransaction) {
	started := g.bg.Go(func() {
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if !res.IsProvisional() {
					return
				}
			case <-tx.Done():
				return
			}
		}
	})
	if !started {
		tx.Terminate()
	}
}
