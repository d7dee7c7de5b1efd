package browser

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sipedge/sipedge/rtpengine/rtpenginetest"
	"github.com/sipedge/sipedge/test/loopback"
	"github.com/sipedge/sipedge/tls/tlstest"
)

const (
	rtpengineBin = "/usr/bin/rtpengine"
	sippBin      = "/usr/bin/sipp"
	// netnsEnv marks the test process re-executed inside `unshare -rn`.
	netnsEnv = "SIPEDGE_BROWSER_NETNS"
)

// inNetns re-runs the named test inside a private network namespace that
// has only loopback (unshare -rn), so ICE candidates, rtpengine and every
// SIP endpoint stay on 127.0.0.1. It returns true in the child, where the
// test body runs; in the parent it waits for the child and reports its
// outcome, and returns false.
func inNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatalf("unshare is required (Debian util-linux): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	args := []string{"-rn", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`,
		os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.v", "-test.timeout", "3m"}
	cmd := exec.CommandContext(ctx, unshare, args...)
	cmd.Env = append(os.Environ(), netnsEnv+"=1", "SIPEDGE_BROWSER_OUT="+outDir(t))
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		t.Log(line)
	}
	if err != nil {
		t.Fatalf("%s in the namespace failed: %v", t.Name(), err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("%s did not pass in the namespace", t.Name())
	}
	return false
}

// lockedBuffer collects a child process's output for failure reports.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// startProc starts a child process whose output is kept for the failure
// report; it is killed when the test ends. exited is closed when it exits.
func startProc(t *testing.T, name string, bin string, args ...string) (exited chan struct{}, out *lockedBuffer) {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is required (scripts/install-deps.sh installs it): %v", bin, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	out = &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited = make(chan struct{})
	go func() { // owner: this test; ends when the process exits (killed at cleanup)
		defer close(exited)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(out.String(), 6000))
		}
	})
	return exited, out
}

// startRTPEngine runs rtpengine in userspace on loopback
// (rtpenginetest.StartDaemon) and returns its ng port once it answers a
// ping.
func startRTPEngine(t *testing.T) int {
	t.Helper()
	d := rtpenginetest.StartDaemon(t)
	_, p, err := net.SplitHostPort(strings.TrimPrefix(d.UDP, "udp:"))
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// ngCommand sends one bencoded ng command and returns the reply after the
// cookie.
func ngCommand(port int, dict string, wait time.Duration) (string, error) {
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", err
	}
	defer c.Close()
	cookie := fmt.Sprintf("t%d ", mrand.Int64())
	if _, err := io.WriteString(c, cookie+dict); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(string(buf[:n]), cookie), nil
}

// startEcho runs SIPp's built-in UAS with RTP echo on a free port: it
// answers INVITEs with PCMU and sends every RTP packet back to its sender.
func startEcho(t *testing.T) int {
	t.Helper()
	port, media := loopback.FreePort(t), loopback.FreePort(t)
	exited, out := startProc(t, "sipp echo", sippBin, "-sn", "uas", "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(media), "-rtp_echo", "-nostdin")
	_ = exited
	_ = out
	waitUDP(t, port)
	return port
}

// waitUDP waits until a socket is bound to the UDP port (from /proc/net/udp).
func waitUDP(t *testing.T, port int) {
	t.Helper()
	suffix := fmt.Sprintf(":%04X", port)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile("/proc/net/udp")
		for _, line := range strings.Split(string(data), "\n")[1:] {
			if f := strings.Fields(line); len(f) > 2 && strings.HasSuffix(f[1], suffix) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond) // polling a readiness condition, bounded by deadline
	}
	t.Fatalf("nothing bound UDP port %d within 5s", port)
}

// writeCert writes a self-signed ECDSA certificate for 127.0.0.1, ::1 and
// localhost and returns the cert and key paths.
func writeCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	certPath, keyPath, _ = tlstest.WriteCert(t, dir, "sipedge browser test")
	return certPath, keyPath
}

// listeningRE picks msg, transport and addr out of a slog text line.
var listeningRE = regexp.MustCompile(`(?:^|\s)(msg|transport|addr)=("(?:[^"\\]|\\.)*"|\S+)`)

// startSipedge runs sipedge serve with doc as its configuration and returns
// the bound address per transport once every listener is announced.
func startSipedge(t *testing.T, doc map[string]any, listeners int) map[string]string {
	t.Helper()
	body, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sipedge.yaml")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sipedgeBin, "serve", "--config", path)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sipedge: %v", err)
	}
	var log lockedBuffer
	addrs := map[string]string{}
	ready, done := make(chan struct{}), make(chan struct{})
	go func() { // owner: this test; ends at stderr EOF (process exit)
		defer close(done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		announced := false
		for sc.Scan() {
			line := sc.Text()
			_, _ = log.Write([]byte(line + "\n"))
			if announced {
				continue
			}
			f := map[string]string{}
			for _, m := range listeningRE.FindAllStringSubmatch(line, -1) {
				v := m[2]
				if u, err := strconv.Unquote(v); err == nil {
					v = u
				}
				f[m[1]] = v
			}
			if f["msg"] == "listening" && f["transport"] != "" {
				log.mu.Lock()
				addrs[f["transport"]] = f["addr"]
				n := len(addrs)
				log.mu.Unlock()
				if n >= listeners {
					announced = true
					close(ready)
				}
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("sipedge log:\n%s", tail(log.String(), 20000))
		}
	})
	select {
	case <-ready:
	case <-done:
		t.Fatalf("sipedge exited before listening; config:\n%s\nlog:\n%s", body, log.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("sipedge did not announce %d listeners in 10s; log:\n%s", listeners, log.String())
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	out := make(map[string]string, len(addrs))
	for k, v := range addrs {
		out[k] = v
	}
	return out
}
