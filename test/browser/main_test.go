// Package browser holds the whole-system tests that drive a real Chromium
// (Debian's /usr/bin/chromium through playwright-core from npm) against the
// demo softphone that sipedge serves. softphone.mjs is the browser side;
// the Go tests start the servers, run it and check what it reports.
package browser

import (
	"fmt"
	"os"
	"testing"

	"github.com/sipedge/sipedge/test/sipedgebin"
	"go.uber.org/goleak"
)

// sipedgeBin is the sipedge binary under test: $SIPEDGE_BIN (make test) or
// one built by TestMain. Set once before any test runs; tests only read it.
var sipedgeBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("SIPEDGE_BIN") == "" && os.Getenv(netnsEnv) != "" {
		fmt.Fprintln(os.Stderr, "browser: inside the test namespace without SIPEDGE_BIN")
		return 1
	}
	bin, cleanup, err := sipedgebin.Path()
	if err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	defer cleanup()
	sipedgeBin = bin
	// The namespaced child process reuses this binary.
	if err := os.Setenv("SIPEDGE_BIN", sipedgeBin); err != nil {
		fmt.Fprintln(os.Stderr, "browser:", err)
		return 1
	}
	code := m.Run()
	// Setup above needs a cleanup after the tests, so goleak.Find rather
	// than VerifyTestMain; a leak fails an otherwise passing run.
	if err := goleak.Find(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "browser: goleak:", err)
		return 1
	}
	return code
}
