package gateway

import (
	"context"

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
