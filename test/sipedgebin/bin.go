// Package sipedgebin gives the whole-system tests the sipedge binary under
// test: the one `make test` built ($SIPEDGE_BIN), or a fresh build.
package sipedgebin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Path returns $SIPEDGE_BIN when set; otherwise it builds cmd/sipedge into
// a temporary directory that cleanup removes. Call it once from TestMain.
func Path() (path string, cleanup func(), err error) {
	if bin := os.Getenv("SIPEDGE_BIN"); bin != "" {
		return bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "sipedge-test-bin-")
	if err != nil {
		return "", nil, fmt.Errorf("sipedgebin: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, "sipedge")
	build := exec.Command("go", "build", "-o", path, "github.com/sipedge/sipedge/cmd/sipedge")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("sipedgebin: building sipedge: %w", err)
	}
	return path, cleanup, nil
}
