package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// sipedgeBin is the path of the sipedge binary under test. TestMain sets it
// once before any test runs; tests only read it.
var sipedgeBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if bin := os.Getenv("SIPEDGE_BIN"); bin != "" {
		sipedgeBin = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "sipedge-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	sipedgeBin = filepath.Join(dir, "sipedge")
	build := exec.Command("go", "build", "-o", sipedgeBin, "github.com/sipedge/sipedge/cmd/sipedge")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "test: building sipedge:", err)
		return 1
	}
	return m.Run()
}
