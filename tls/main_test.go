package tls

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/sipedge/sipedge/tls/tlstest"
)

// TestMain fails the package's tests if any goroutine outlives them, but
// for the process-wide ones of the ACME libraries: Pebble's validation
// authority (the test's in-process CA) never stops its task loop, and
// certmagic keeps a package-level rate limiter and refreshes lock files
// for a few seconds after releasing them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction(tlstest.PebbleVATask),
		goleak.IgnoreTopFunction("github.com/caddyserver/certmagic.(*RingBufferRateLimiter).permit"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
	)
}
