package browser

import (
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	webdemo "github.com/sipedge/sipedge/web-demo"
)

// TestSoftphonePage loads the softphone from a stub HTTPS server (the
// embedded webdemo.Handler alone, no gateway) and checks what needs no
// SIP server: defaults, persisted settings and instance id, the
// WebSocket-lost and microphone-denied messages, and a phone-sized layout.
func TestSoftphonePage(t *testing.T) {
	requireBrowserTools(t)
	srv := httptest.NewUnstartedServer(webdemo.Handler())
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// A port nobody listens on: the WebSocket never connects.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()

	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	writeTone(t, tone, 2)
	runBrowser(t, browserRun{
		Mode:    "ui",
		BaseURL: srv.URL + "/",
		WSURL:   "wss://" + dead + "/ws",
		Domain:  "127.0.0.1",
		Users:   []browserUser{{User: "alice", Password: "alice-secret", Name: "Alice"}},
		Tone:    tone,
		OutDir:  outDir(t),
	}, 90*time.Second)
}
