package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// jssipProc is a running `node test/jssip/client.js`: JsSIP registering and
// calling over sipedge's WebSocket, reporting each step as a JSON line.
type jssipProc struct {
	cmd    *exec.Cmd
	events chan map[string]any
	stderr bytes.Buffer
	stdout bytes.Buffer // copy of every line, for failure messages
	done   chan struct{}
	err    error
}

// requireJsSIP returns the node binary and the JsSIP project directory,
// failing the test if Node or the npm packages are missing.
func requireJsSIP(t *testing.T) (string, string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("Node.js is required for the JsSIP tests (Debian package nodejs, scripts/install-deps.sh): %v", err)
	}
	dir, err := filepath.Abs("jssip")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jssip", "package.json")); err != nil {
		t.Fatalf("JsSIP is not installed in %s: run `npm ci` there (scripts/install-deps.sh does): %v", dir, err)
	}
	return node, dir
}

// startJsSIP runs client.js with args, bounded by 30 s; it is killed when
// the test ends.
func startJsSIP(t *testing.T, args ...string) *jssipProc {
	t.Helper()
	node, dir := requireJsSIP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "client.js")}, args...)...)
	p := &jssipProc{cmd: cmd, events: make(chan map[string]any, 64), done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node: %v", err)
	}
	go func() { // owner: p; ends at stdout EOF (process exit, bounded by ctx)
		defer close(p.done)
		defer cancel()
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.stdout.WriteString(sc.Text() + "\n")
			var ev map[string]any
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				continue
			}
			select {
			case p.events <- ev:
			default:
			}
		}
		p.err = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("jssip stdout:\n%s\njssip stderr:\n%s", p.stdout.String(), tail(p.stderr.String(), 4000))
		}
	})
	return p
}

// waitEvent returns the next event named name, failing the test if the
// process ends or within passes first.
func (p *jssipProc) waitEvent(t *testing.T, name string, within time.Duration) map[string]any {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				t.Fatalf("jssip exited (%v) before %q", p.err, name)
			}
			if ev["event"] == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("jssip: no %q within %v", name, within)
		}
	}
}

// wait waits for the process to exit and fails the test unless it exits 0.
func (p *jssipProc) wait(t *testing.T) {
	t.Helper()
	<-p.done
	if p.err != nil {
		t.Errorf("jssip client: %v", p.err)
	}
}

// TestWSJsSIP has JsSIP (npm, under Node with the ws package) register over
// WS (alice) and WSS (bob) with digest auth, call SIPp UASes through
// sipedge over UDP with BYE from either side, and answer calls placed by a
// SIPp UAC with BYE from either side.
func TestWSJsSIP(t *testing.T) {
	requireJsSIP(t)
	e := startWSEdge(t, nil)
	ca := e.certFile
	for _, tc := range []struct{ transport, user, password string }{
		{"ws", "alice", "alice-secret"},
		{"wss", "bob", "bob-secret"},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			base := []string{"--url", e.url(tc.transport), "--user", tc.user, "--password", tc.password,
				"--ca", ca, "--local-ip", wsBrowserIP}
			t.Run("outgoing, JsSIP hangs up", func(t *testing.T) {
				uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml", Port: e.uasPort})
				js := startJsSIP(t, append(base, "--mode", "call", "--target", "sip:"+e.callUser+"@example.test", "--hangup", "local")...)
				js.waitEvent(t, "registered", 10*time.Second)
				js.waitEvent(t, "confirmed", 10*time.Second)
				js.waitEvent(t, "ended", 10*time.Second)
				js.wait(t)
				uas.expectAllSuccessful(t, 1)
			})
			t.Run("outgoing, SIPp hangs up", func(t *testing.T) {
				uas := startSIPp(t, sippRun{Name: "uas_bye", Scenario: "uas_call_bye.xml", Port: e.byePort})
				js := startJsSIP(t, append(base, "--mode", "call", "--target", "sip:"+e.byeUser+"@example.test", "--hangup", "remote")...)
				js.waitEvent(t, "confirmed", 10*time.Second)
				js.waitEvent(t, "ended", 10*time.Second)
				js.wait(t)
				uas.expectAllSuccessful(t, 1)
			})
			t.Run("incoming, SIPp hangs up", func(t *testing.T) {
				js := startJsSIP(t, append(base, "--mode", "answer", "--hangup", "remote")...)
				js.waitEvent(t, "registered", 10*time.Second)
				uac := startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call_aor.xml", Remote: e.gwUDP, Service: tc.user})
				js.waitEvent(t, "confirmed", 10*time.Second)
				js.waitEvent(t, "ended", 10*time.Second)
				js.wait(t)
				uac.expectAllSuccessful(t, 1)
			})
			t.Run("incoming, JsSIP hangs up", func(t *testing.T) {
				js := startJsSIP(t, append(base, "--mode", "answer", "--hangup", "local")...)
				js.waitEvent(t, "registered", 10*time.Second)
				uac := startSIPp(t, sippRun{Name: "uac_bye_in", Scenario: "uac_call_aor_bye_in.xml", Remote: e.gwUDP, Service: tc.user})
				js.waitEvent(t, "confirmed", 10*time.Second)
				js.waitEvent(t, "ended", 10*time.Second)
				js.wait(t)
				uac.expectAllSuccessful(t, 1)
			})
		})
	}
}
