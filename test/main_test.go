package test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/sipedge/sipedge/test/sipedgebin"
	"github.com/sipedge/sipedge/tls/tlstest"
)

// sipedgeBin is the path of the sipedge binary under test. TestMain sets it
// once before any test runs; tests only read it.
var sipedgeBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	bin, cleanup, err := sipedgebin.Path()
	if err != nil {
		fmt.Fprintln(os.Stderr, "test:", err)
		return 1
	}
	defer cleanup()
	sipedgeBin = bin
	code := m.Run()
	// Setup above needs a cleanup after the tests, so goleak.Find rather
	// than VerifyTestMain; a leak fails an otherwise passing run.
	// Pebble (the ACME test server, tls_acme_test.go) never stops its
	// validation authority's task loop.
	if err := goleak.Find(goleak.IgnoreTopFunction(tlstest.PebbleVATask)); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "test: goleak:", err)
		return 1
	}
	return code
}
