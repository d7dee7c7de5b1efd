package wire

import (
	"net/netip"
	"time"
)

// Tapped is one SIP message as it crossed the wire, sent or received by
// the gateway, on any transport (WebSocket messages decoded).
type Tapped struct {
	Time      time.Time
	Transport string // "udp", "tcp", "tls", "ws" or "wss"
	Src, Dst  netip.AddrPort
	Sent      bool   // sent by the gateway (else received)
	Data      []byte // the message; valid only during the Tap call: copy what you keep
}

// Tap sees every SIP message the gateway sends or receives (HEP capture,
// the call-ladder ring). Tap is called on the I/O path: it must not block.
type Tap interface {
	Tap(m Tapped)
}

// Taps fans one message out to several taps.
type Taps []Tap

// Tap implements Tap.
func (ts Taps) Tap(m Tapped) {
	for _, t := range ts {
		t.Tap(m)
	}
}
