package gateway

import (
	"errors"
	"net"
	"net/netip"

	"github.com/sipedge/sipedge/gateway/wire"
)

// Bad-input logging: anyone can send garbage, so every line it causes is
// rate-limited (a flood must not fill the disk: gateway/lograte) and never
// carries the message's own octets.

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
