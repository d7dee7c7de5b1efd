package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	webdemo "github.com/sipedge/sipedge/web-demo"
)

const chromiumBin = "/usr/bin/chromium"

// requireBrowserTools fails the test when Chromium, node, playwright-core
// or the built softphone are missing, saying how to get them.
func requireBrowserTools(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Fatalf("Chromium is required (Debian package chromium, scripts/install-deps.sh): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is required (Debian package nodejs, scripts/install-deps.sh): %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is required: run make deps (npm ci in test/browser): %v", err)
	}
	if !webdemo.Built() {
		t.Fatal("the softphone is not built: run make web (npm ci && npm run build in web-demo/)")
	}
}

// writeTone writes a mono 16-bit 48 kHz WAV of a 440 Hz sine at half scale,
// secs long, for Chromium's fake microphone (which loops it).
func writeTone(t *testing.T, path string, secs int) {
	t.Helper()
	const rate = 48000
	n := rate * secs
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		_ = binary.Write(&b, le, v) // fmt chunk: PCM, mono, rate, byte rate, block align, bits
	}
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(2*n))
	for i := range n {
		v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/rate)
		_ = binary.Write(&b, le, int16(v*math.MaxInt16))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// browserRun is the JSON argument of softphone.mjs (see its header).
type browserRun struct {
	Mode       string        `json:"mode"`
	BaseURL    string        `json:"baseURL"`
	WSURL      string        `json:"wsURL"`
	Domain     string        `json:"domain"`
	Users      []browserUser `json:"users"`
	Echo       string        `json:"echo,omitempty"`
	NoRoute    string        `json:"noRoute,omitempty"`
	Tone       string        `json:"tone"`
	OutDir     string        `json:"outDir"`
	MinPackets int           `json:"minPackets"`
}

// browserUser is one softphone account.
type browserUser struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// browserResult is what softphone.mjs prints on its RESULT line.
type browserResult struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail any    `json:"detail"`
	} `json:"checks"`
	Stats map[string]any `json:"stats"`
	Error string         `json:"error"`
}

// runBrowser runs softphone.mjs with r, bounded by timeout, logs its
// progress and returns its result; the test fails if it did not pass.
func runBrowser(t *testing.T, r browserRun, timeout time.Duration) browserResult {
	t.Helper()
	arg, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "softphone.mjs", string(arg))
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	for _, line := range strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n") {
		t.Log(line)
	}
	var res browserResult
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	found := false
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			found = json.Unmarshal([]byte(rest), &res) == nil
		}
	}
	if !found {
		t.Fatalf("softphone.mjs printed no RESULT (%v); stdout:\n%s", runErr, stdout.String())
	}
	if runErr != nil || !res.OK {
		t.Fatalf("browser run failed (%v): %s", runErr, res.Error)
	}
	return res
}

// outDir returns where screenshots go: $SIPEDGE_BROWSER_OUT if set, else
// test/browser/out (git-ignored).
func outDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SIPEDGE_BROWSER_OUT")
	if dir == "" {
		dir = "out"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatal(err)
	}
	return abs
}

func itoa(n int) string { return strconv.Itoa(n) }
