package ws

import (
	"net"

	"github.com/sipedge/sipedge/internal/listen"
)

// acceptSlack is how many TCP connections beyond the flow caps the guard
// lets through, per address and in all: room for the softphone page's own
// requests and for the HTTP 429/503 that tell a client why it was refused.
const acceptSlack = 16

// Guard wraps the TCP listener of a ws:// or wss:// endpoint (under the TLS
// layer) so that a connection flood is refused at accept, before any TLS
// handshake, HTTP parsing or goroutine: beyond max_connections_per_ip +
// acceptSlack open TCP connections from one address, or max_connections +
// acceptSlack in all, a new connection is closed at once. The flow caps
// (HTTP 429 and 503 with a reason) still apply to what gets through; the
// guard bounds what a flood can cost in handshakes and descriptors. It is
// listen.Limit, so an accept error (EMFILE...) is retried, not returned.
func (s *Server) Guard(ln net.Listener) net.Listener {
	return listen.Limit(ln, s.tcpCaps, s.log)
}
