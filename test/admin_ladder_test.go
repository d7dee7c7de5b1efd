package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ladderOut is where the ladder screenshot goes: $SIPEDGE_BROWSER_OUT,
// else test/browser/out (git-ignored); docs/img/call-ladder.png is a copy.
func ladderOut(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SIPEDGE_BROWSER_OUT")
	if dir == "" {
		dir = filepath.Join("browser", "out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, "call-ladder.png"))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestAdminLadder: after a browser call through a real rtpengine, the
// admin listener's ring holds the call's messages and record, and the
// call-ladder page shows it in real Chromium (playwright-core, as the
// softphone tests): listed, one arrow per message in three columns, the
// whole message on a click, both legs' quality; a screenshot is saved.
func TestAdminLadder(t *testing.T) {
	if _, err := os.Stat(filepath.Join("browser", "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is required: run make deps (npm ci in test/browser): %v", err)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("Chromium is required (Debian package chromium, scripts/install-deps.sh): %v", err)
	}
	ctx := withTimeout(t, 90*time.Second)
	m := startMediaGW(t, mgwOptions{Admin: map[string]any{"listen": "127.0.0.1:0"}})
	admin := adminAddr(t, m.gw)
	b := m.newBrowser(ctx, t, browserOptions{})
	call, echo := m.browserCallsEcho(ctx, t, b)
	echoExchange(ctx, t, "browser call", b.peer, echo.Media, mgwPackets)
	if err := call.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	want := 16 // as TestHEPCapture: the 180 relay may be missing
	if !slices.Contains(call.Provisional, 180) {
		want--
	}
	var l struct {
		Columns []struct {
			Name  string
			Addrs []string
		}
		Messages []struct {
			FirstLine string `json:"first_line"`
		}
		Record *struct{ Disposition string }
	}
	for deadline := time.Now().Add(3 * time.Second); ; pause(20 * time.Millisecond) {
		code, body := adminDo(t, "GET", admin, "", "/api/v1/calls/"+call.CallID)
		if code == 200 {
			if err := json.Unmarshal(body, &l); err != nil {
				t.Fatal(err)
			}
			if l.Record != nil && len(l.Messages) == want {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/v1/calls/%s: %d %s, want %d messages and the record", call.CallID, code, body, want)
		}
	}
	var names []string
	for _, c := range l.Columns {
		names = append(names, c.Name)
	}
	if len(names) != 3 || !strings.HasPrefix(names[0], "127.0.0.1:") || names[1] != "sipedge" || names[2] != m.echo.Addr() {
		t.Errorf("columns %v, want the browser, sipedge, the phone %s", names, m.echo.Addr())
	}
	if code, body := adminDo(t, "GET", admin, "", "/ladder"); code != 200 || !bytes.Contains(body, []byte("<title>sipedge · calls</title>")) {
		t.Errorf("GET /ladder: %d", code)
	}

	shot := ladderOut(t)
	arg, _ := json.Marshal(map[string]any{"url": "http://" + admin + "/ladder", "callId": call.CallID, "messages": want,
		"columns": names, "click": 3, "expect": "Proxy-Authorization:", "screenshot": shot})
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(rctx, "node", filepath.Join("browser", "ladder.mjs"), string(arg))
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		t.Log(line)
	}
	var res struct {
		OK    bool
		Error string
	}
	sc := bufio.NewScanner(&stdout)
	found := false
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			found = json.Unmarshal([]byte(rest), &res) == nil
		}
	}
	if !found || runErr != nil || !res.OK {
		t.Fatalf("ladder.mjs: %v %s\nstdout:\n%s", runErr, res.Error, stdout.String())
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}
