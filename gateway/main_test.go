package gateway

import (
	"os"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestMain(m *testing.M) {
	// Process-wide sipgo knob, set once before any UA exists (as cmd does).
	sip.UDPMTUSize = 65535
	os.Exit(m.Run())
}
