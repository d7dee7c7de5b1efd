package browser

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stack is the namespaced whole system: rtpengine, a SIPp echo endpoint
// and sipedge with a WSS listener (and the page) on 127.0.0.1.
type stack struct {
	ng   int    // rtpengine ng port
	wss  string // sipedge's wss host:port
	tone string // the fake microphone's WAV
}

// startStack starts the whole system in the current (namespaced) process.
func startStack(t *testing.T) stack {
	t.Helper()
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
	return stack{ng: ng, wss: wss, tone: tone}
}

func (s stack) run(mode string) browserRun {
	return browserRun{
		Mode:    mode,
		BaseURL: "https://" + s.wss + "/",
		WSURL:   "wss://" + s.wss + "/ws",
		Domain:  "127.0.0.1",
		Users: []browserUser{
			{User: "alice", Password: "alice-secret", Name: "Alice"},
			{User: "bob", Password: "bob-secret", Name: "Bob"},
		},
		Echo:       "600",
		NoRoute:    "999",
		Tone:       s.tone,
		MinPackets: 50,
	}
}

// TestSoftphoneRegister opens the page sipedge serves over HTTPS and
// checks the WSS edge from a real browser: a wrong password gets a clear
// message, the right one registers, a number without a route gets a clear
// message. Runs in a loopback-only network namespace.
func TestSoftphoneRegister(t *testing.T) {
	requireBrowserTools(t)
	if !inNetns(t) {
		return
	}
	s := startStack(t)
	r := s.run("register")
	r.OutDir = outDir(t)
	runBrowser(t, r, 90*time.Second)
}

// TestSoftphoneCall is issue 6's acceptance test, in a loopback-only
// network namespace: the browser calls the echo extension and must receive
// its own tone back (inbound packets over a threshold, audio energy above
// zero, connection "connected"); after the hang-up rtpengine holds no
// session.
func TestSoftphoneCall(t *testing.T) {
	testMedia(t, "call")
}

// TestSoftphoneBrowserToBrowser: two pages (alice, bob) register, alice
// calls bob, bob answers, both receive audio; alice mutes, holds and
// resumes, sends DTMF and hangs up; bob rejects her next call. After that
// rtpengine holds no session.
func TestSoftphoneBrowserToBrowser(t *testing.T) {
	testMedia(t, "b2b")
}

func testMedia(t *testing.T, mode string) {
	requireBrowserTools(t)
	requireMediaBridge(t)
	if !inNetns(t) {
		return
	}
	s := startStack(t)
	r := s.run(mode)
	r.OutDir = outDir(t)
	res := runBrowser(t, r, 120*time.Second)
	t.Logf("audio stats: %v", res.Stats)

	// Every call was hung up: rtpengine must hold no session (delete-delay 0).
	deadline := time.Now().Add(5 * time.Second)
	var reply string
	for time.Now().Before(deadline) {
		r, err := ngCommand(s.ng, "d7:command4:liste", 200*time.Millisecond)
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

// requireMediaBridge skips until the gateway drives rtpengine (issue 5):
// the browser cannot get audio through a gateway that passes SDP through
// unchanged. The check is on the code, not on behaviour, so a regression
// of a landed media bridge fails the test instead of skipping it.
func requireMediaBridge(t *testing.T) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "github.com/sipedge/sipedge/gateway").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if !strings.Contains(string(out), "github.com/sipedge/sipedge/rtpengine\n") {
		t.Skip("pending issue 5: package gateway does not use package rtpengine yet, so no media bridge to test")
	}
}
