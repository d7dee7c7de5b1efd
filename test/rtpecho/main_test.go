package rtpecho_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them. One
// is let go: sipgo v1.7.2 may open a UDP connection for a retransmission
// that races the user agent's Close (transport_udp.go createConnection),
// and its reader then outlives the UA; about one run in six of this
// package's tests hits it. It is the SIP library's, not rtpecho's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/emiago/sipgo/sip.(*TransportUDP).readUDPConnection"),
	)
}
