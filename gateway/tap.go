package gateway

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/sipedge/sipedge/gateway/wire"
	"github.com/sipedge/sipedge/ws"
)

// The message tap (Deps.Tap): every SIP message sent or received on the
// UDP sockets, the TCP and TLS connections (accepted, and dialled: see
// tapdial.go) and the WebSocket flows is shown to it, as octets, with its
// addresses and time. Without a tap nothing here runs.

// tappedConn is a UDP listener socket whose datagrams, read and written,
// are shown to the tap. It sits under checkedConn, so the tap sees what
// arrived before any check, and every write (sipgo's, the stateless
// answers') goes through it.
type tappedConn struct {
	net.PacketConn
	tap   wire.Tap
	local netip.AddrPort
}

func newTappedConn(pc net.PacketConn, tap wire.Tap) tappedConn {
	return tappedConn{PacketConn: pc, tap: tap, local: tapAddr(pc.LocalAddr())}
}

// ReadFrom implements net.PacketConn.
func (c tappedConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err == nil && n > 4 {
		c.tap.Tap(wire.Tapped{Time: time.Now(), Transport: "udp", Src: tapAddr(addr), Dst: c.local, Data: p[:n]})
	}
	return n, addr, err
}

// WriteTo implements net.PacketConn. The tap sees the datagram just before
// it is written, so that it is seen before its answer arrives.
func (c tappedConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if len(p) > 4 {
		c.tap.Tap(wire.Tapped{Time: time.Now(), Transport: "udp", Src: c.local, Dst: tapAddr(addr), Sent: true, Data: p})
	}
	return c.PacketConn.WriteTo(p, addr)
}

// tapAddr is a's address and port, an IPv4-mapped IPv6 address unmapped
// (a dual-stack socket reports those).
func tapAddr(a net.Addr) netip.AddrPort {
	ap := addrPort(a)
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// tapFlow shows a message received on (sent false) or sent down (sent
// true) a WebSocket flow to the tap.
func (g *Gateway) tapFlow(f *ws.Flow, msg []byte, sent bool) {
	if g.deps.Tap == nil {
		return
	}
	remote, local := tapAddr(f.RemoteAddr()), tapAddr(f.LocalAddr())
	m := wire.Tapped{Time: time.Now(), Transport: strings.ToLower(f.Transport()), Src: remote, Dst: local, Sent: sent, Data: msg}
	if sent {
		m.Src, m.Dst = local, remote
	}
	g.deps.Tap.Tap(m)
}

// SentSIP implements ws.SentTap.
func (g *Gateway) SentSIP(f *ws.Flow, msg []byte) { g.tapFlow(f, msg, true) }

// tapStream shows a message read from or written to a TCP or TLS
// connection to the tap (listen.Tap).
func (g *Gateway) tapStream(c net.Conn, tls bool, msg []byte, sent bool) {
	remote, local := tapAddr(c.RemoteAddr()), tapAddr(c.LocalAddr())
	m := wire.Tapped{Time: time.Now(), Transport: "tcp", Src: remote, Dst: local, Sent: sent, Data: msg}
	if tls {
		m.Transport = "tls"
	}
	if sent {
		m.Src, m.Dst = local, remote
	}
	g.deps.Tap.Tap(m)
}
