package gateway

import (
	"log/slog"
	"net"
)

// udpReadBuffer is the receive buffer asked for on every UDP listener.
// The kernel's default (net.core.rmem_default, 208 KiB) holds only a
// couple of hundred small datagrams: a burst arriving while the reader is
// descheduled (garbage collection, the other goroutines on a busy host)
// overflowed it, and each datagram dropped there (a 200 to a BYE, a 100
// Trying) cost a retransmission or a failed call. Kamailio raises its
// sockets' buffers too. The kernel caps the request at net.core.rmem_max.
const udpReadBuffer = 4 << 20

// setReadBuffer asks for udpReadBuffer on pc (what the kernel granted:
// TestUDPReadBuffer, or SO_RCVBUF in ss -m).
func setReadBuffer(pc net.PacketConn, log *slog.Logger) {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return
	}
	if err := uc.SetReadBuffer(udpReadBuffer); err != nil {
		log.Warn("UDP receive buffer not raised", "addr", uc.LocalAddr().String(), "error", err)
	}
}
