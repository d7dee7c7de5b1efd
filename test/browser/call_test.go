package browser

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSoftphoneCall runs the whole stack inside a loopback-only network
// namespace: rtpengine, a SIPp echo endpoint, sipedge (WSS + the embedded
// page + rtpengine) and headless Chromium. The browser registers (and
// fails with a wrong password), calls the echo extension and must receive
// its own tone back, gets a clear message for a number without a route,
// and two pages (alice, bob) call each other and both receive audio. After
// the calls rtpengine has no session left. Screenshots go to outDir.
func TestSoftphoneCall(t *testing.T) {
	requireBrowserTools(t)
	if !inNetns(t) {
		return
	}
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.wav")
	writeTone(t, tone, 2)
	cert, key := writeCert(t, dir)
	ng := startRTPEngine(t)
	echo := startEcho(t)
	addrs := startSipedge(t, map[string]any{
		"listen":  []string{"udp://127.0.0.1:0", "wss://127.0.0.1:0/ws"},
		"domains": []string{"127.0.0.1"},
		"users": map[string]any{
			"alice": map[string]string{"password": "alice-secret"},
			"bob":   map[string]string{"password": "bob-secret"},
		},
		"routes": []map[string]any{
			{"match": map[string]string{"user": "^600$"}, "to": []string{"sip:127.0.0.1:" + itoa(echo)}},
		},
		"tls":       map[string]string{"cert": cert, "key": key},
		"rtpengine": map[string]any{"nodes": []string{"udp:127.0.0.1:" + itoa(ng)}},
		"log":       map[string]string{"level": "debug"},
	}, 2)
	wss := addrs["wss"]
	if wss == "" {
		t.Fatalf("sipedge has no wss listener: %v", addrs)
	}
	res := runBrowser(t, browserRun{
		Mode:    "call",
		BaseURL: "https://" + wss + "/",
		WSURL:   "wss://" + wss + "/ws",
		Domain:  "127.0.0.1",
		Users: []browserUser{
			{User: "alice", Password: "alice-secret", Name: "Alice"},
			{User: "bob", Password: "bob-secret", Name: "Bob"},
		},
		Echo:       "600",
		NoRoute:    "999",
		Tone:       tone,
		OutDir:     outDir(t),
		MinPackets: 50,
	}, 150*time.Second)
	t.Logf("audio stats: %v", res.Stats)

	// Every call was hung up: rtpengine must hold no session (delete-delay 0).
	deadline := time.Now().Add(5 * time.Second)
	var reply string
	for time.Now().Before(deadline) {
		r, err := ngCommand(ng, "d7:command4:liste", 200*time.Millisecond)
		if err == nil {
			reply = r
			if strings.Contains(r, "5:callsle") {
				return
			}
		}
		time.Sleep(100 * time.Millisecond) // polling rtpengine's call list, bounded by deadline
	}
	t.Fatalf("rtpengine still has calls after hang up: %q", reply)
}
