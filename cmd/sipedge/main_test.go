package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain lets a test run this test binary as the sipedge command itself
// (SIPEDGE_TEST_AS_MAIN=1): the arguments after "--" go to run, and its
// result is the exit code.
func TestMain(m *testing.M) {
	if os.Getenv("SIPEDGE_TEST_AS_MAIN") == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(run(args, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

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
		{"check file argument", []string{"check", "../../config/examples/sipedge.yaml"}, 0, "sipedge.yaml: ok", nil},
		{"check missing file name", []string{"check"}, 2, "", []string{"sipedge check: a configuration FILE is required", "usage"}},
		{"serve missing file name", []string{"serve"}, 2, "", []string{"sipedge serve: a configuration FILE is required"}},
		{"check two files", []string{"check", "a.yaml", "b.yaml"}, 2, "", []string{"one configuration file"}},
		{"check flag and argument", []string{"check", "--config", "a.yaml", "b.yaml"}, 2, "", []string{"one configuration file"}},
		{"check missing file argument", []string{"check", "/nonexistent.yaml"}, 1, "", []string{"no such file"}},
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

// TestCheckEveryProblem runs "sipedge check FILE" (this test binary as the
// command) on a file with an unknown key, a route target with a bad URI
// scheme and a listen entry with a bad address: exactly those three
// problems, each on its own line with file:line:field, and exit status 1.
// The --config spelling gives the same.
func TestCheckEveryProblem(t *testing.T) {
	const file = "../../config/testdata/three-problems.yaml"
	want := `config: invalid (3 problems):
` + file + `:3: listen[1] (tcp://nowhere.example:5060): host "nowhere.example" must be an IP address
` + file + `:7: rutes: unknown key
` + file + `:9: routes[0].to[0] (http://10.0.0.1:5060): scheme "http" not supported (sip, sips)
`
	for _, args := range [][]string{{"check", file}, {"check", "--config", file}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
			cmd.Env = append(os.Environ(), "SIPEDGE_TEST_AS_MAIN=1")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1 (stderr %q)", err, errb.String())
			}
			if errb.String() != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", errb.String(), want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}
