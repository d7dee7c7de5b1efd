package gateway

import (
	"testing"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Process-wide sipgo knob, set once before any UA exists (as cmd does).
	sip.UDPMTUSize = 65535
	// Every goroutine a test's gateway started must have ended with it.
	goleak.VerifyTestMain(m)
}
