package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
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
	return s.g.cli.TransactionRequest(ctx, req, noBuild)
}

func (s sipgoSender) write(req *sip.Request) error {
	return s.g.cli.WriteRequest(req, noBuild)
}

// transportOf is the transport a target is reached over (lower case); for
// a WebSocket flow, the flow's own (ws or wss).
func (g *Gateway) transportOf(t target) (string, error) {
	if t.flow == "" {
		return t.transport, nil
	}
	f, ok := g.flow(t.flow)
	if !ok {
		return "", status(430, "Flow Failed", fmt.Errorf("%w: flow %s is gone", ErrUnavailable, t.flow))
	}
	return strings.ToLower(f.Transport()), nil
}

// address sets where req goes: transport, destination and our source
// address (UDP requests leave from the listener socket).
func (g *Gateway) address(req *sip.Request, t target, out string) {
	req.SetTransport(strings.ToUpper(out))
	if t.addr != "" {
		req.SetDestination(t.addr)
	}
	if out == "udp" {
		req.Laddr = g.udpLaddr
	} else {
		req.Laddr = sip.Addr{}
	}
}

// request starts a client transaction toward t: down its WebSocket flow,
// or through sipgo's transport layer.
func (g *Gateway) request(ctx context.Context, req *sip.Request, t target) (sip.ClientTransaction, error) {
	if t.flow != "" {
		f, ok := g.flow(t.flow)
		if !ok {
			return nil, fmt.Errorf("%w: flow %s is gone", ErrUnavailable, t.flow)
		}
		return f.Request(ctx, req)
	}
	return g.out.request(ctx, req)
}

// write sends req toward t without a transaction (ACK for 2xx).
func (g *Gateway) write(req *sip.Request, t target) error {
	if t.flow != "" {
		f, ok := g.flow(t.flow)
		if !ok {
			return fmt.Errorf("%w: flow %s is gone", ErrUnavailable, t.flow)
		}
		return f.WriteMsg(req)
	}
	return g.out.write(req)
}

// drain reads a client transaction we started on our own (CANCEL, BYE,
// keepalive) until its final response or its end, in the background.
func (g *Gateway) drain(tx sip.ClientTransaction) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
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
	}()
}
