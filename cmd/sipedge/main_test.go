package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr []string
	}{
		{"version", []string{"version"}, 0, "sipedge", nil},
		{"no args", nil, 2, "", []string{"usage"}},
		{"unknown", []string{"frob"}, 2, "", []string{`unknown command "frob"`}},
		{"check ok", []string{"check", "--config", "../../config/examples/sipedge.yaml"}, 0, "ok", nil},
		{"check missing flag", []string{"check"}, 2, "", []string{"--config FILE is required"}},
		{"check missing file", []string{"check", "--config", "/nonexistent.yaml"}, 1, "", []string{"no such file"}},
		{"check broken", []string{"check", "--config", "../../config/testdata/broken.yaml"}, 1, "", []string{
			"broken.yaml:1: listen[1]", "broken.yaml:4: users.alice", "broken.yaml:14: log.level"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.inStdout)
			}
			for _, w := range tc.inStderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr %q lacks %q", errb.String(), w)
				}
			}
		})
	}
}
