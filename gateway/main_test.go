package gateway

import (
	"testing"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Process-wide sipgo knob, set once before any UA exists (as cmd does).
	sip.UDPMTUSize = 65535
	// sipgo's transaction timers as cmd sets them for a default config.
	var c Config
	c.SetDefaults()
	ApplyProcessTimers(c)
	// Every goroutine a test's gateway started must have ended with it,
	// but one: sipgo v1.7.2 may open a UDP connection for a
	// retransmission racing the transport layer's Close
	// (transport_udp.go createConnection), and its reader outlives the
	// layer (seen in about 1 of 5 runs of make unit; as in test/rtpecho).
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	)
}
