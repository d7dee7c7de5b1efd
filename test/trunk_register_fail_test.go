package test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// The registration failure tests run in real time against SIPp
// registrars, with short timers so each takes seconds; the same policy is
// tested with a fake clock in gateway/trunk. The provider restarted over
// TCP is TestTrunkProviderRestart.

// sippMessage is one message in a SIPp -trace_msg log.
type sippMessage struct {
	At       time.Time
	Received bool
	Text     string
}

// sippMsgHead is the line SIPp writes before each message it logs.
var sippMsgHead = regexp.MustCompile(`(?m)^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n(\S+) message (received|sent)[^\n]*\n\n`)

// sippMessages reads the messages p logged so far (it runs with
// -trace_msg), in order.
func sippMessages(t *testing.T, p *sippProc) []sippMessage {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.Dir, "*_messages.log"))
	var out []sippMessage
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		heads := sippMsgHead.FindAllStringSubmatchIndex(s, -1)
		for i, h := range heads {
			at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", s[h[2]:h[3]], time.Local)
			if err != nil {
				t.Fatalf("SIPp message log %s: %v", f, err)
			}
			end := len(s)
			if i+1 < len(heads) {
				end = heads[i+1][0]
			}
			out = append(out, sippMessage{At: at, Received: s[h[6]:h[7]] == "received", Text: strings.TrimSpace(s[h[1]:end])})
		}
	}
	return out
}

// sippReceived is the requests of method among p's logged messages.
func sippReceived(t *testing.T, p *sippProc, method string) []sippMessage {
	t.Helper()
	var out []sippMessage
	for _, m := range sippMessages(t, p) {
		if m.Received && strings.HasPrefix(m.Text, method+" ") {
			out = append(out, m)
		}
	}
	return out
}

// waitReceived waits up to d until p has received n requests of method.
func waitReceived(t *testing.T, p *sippProc, method string, n int, d time.Duration) []sippMessage {
	t.Helper()
	end := time.Now().Add(d)
	for {
		got := sippReceived(t, p, method)
		if len(got) >= n {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("provider %s got %d %ss in %v, want %d\n%s", p.Run.Name, len(got), method, d, n, tail(p.out.String(), 2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills SIPp (SIGKILL: no goodbye on any socket) and waits for it.
func (p *sippProc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// fastTrunk is a registering trunk toward uri with the policy's timers
// short enough for a test in real time.
func fastTrunk(uri string, policy map[string]any) proxyConfig {
	pol := map[string]any{"start_delay": "-1s", "retry_min": "100ms", "retry_max": "200ms", "timeout": "1s"}
	for k, v := range policy {
		pol[k] = v
	}
	return proxyConfig{Extra: map[string]any{
		"trunks": map[string]any{"carrier": map[string]any{
			"uris": []string{uri}, "username": "acct", "password": "pw", "register": true, "expires": 60,
		}},
		"trunk_registration": pol,
	}}
}

// TestTrunkRegister503RetryAfter: the provider answers the first REGISTER
// 503 with Retry-After: 2; the backoff (100-200ms) is shorter, so the next
// REGISTER waits the 2 s, and not much more, and is granted.
func TestTrunkRegister503RetryAfter(t *testing.T) {
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_503.xml", Timeout: 10 * time.Second, Args: []string{"-trace_msg"}})
	gw := startSipedge(t, fastTrunk(sipURI(prov.Port, "udp"), nil))
	prov.expectAllSuccessful(t, 1)
	regs := sippReceived(t, prov, "REGISTER")
	if len(regs) != 2 {
		t.Fatalf("provider got %d REGISTERs, want 2", len(regs))
	}
	gap := regs[1].At.Sub(regs[0].At)
	t.Logf("REGISTER after the 503 came %v after the first", gap)
	if gap < 2*time.Second || gap > 2800*time.Millisecond {
		t.Errorf("REGISTER after 503 Retry-After: 2 came %v after the first, want 2s..2.8s", gap)
	}
	gw.logWithin(t, 2*time.Second, `msg="trunk registered"`)
	if !strings.Contains(gw.Log(), "retry_in=2s") {
		t.Errorf("no failure logged with retry_in=2s:\n%s", tail(gw.Log(), 3000))
	}
}

// TestTrunkRegister423MinExpires: the provider answers a REGISTER asking
// for 60 s with 423 Min-Expires: 120; the next REGISTER, at once, asks for
// 120 s (the scenario checks its Expires header and Contact parameter)
// and is granted.
func TestTrunkRegister423MinExpires(t *testing.T) {
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_423.xml", Timeout: 10 * time.Second, Args: []string{"-trace_msg"}})
	gw := startSipedge(t, fastTrunk(sipURI(prov.Port, "udp"), nil))
	prov.expectAllSuccessful(t, 1)
	regs := sippReceived(t, prov, "REGISTER")
	if len(regs) != 2 {
		t.Fatalf("provider got %d REGISTERs, want 2", len(regs))
	}
	if !strings.Contains(regs[0].Text, "\nExpires: 60") {
		t.Errorf("first REGISTER does not ask for 60s:\n%s", regs[0].Text)
	}
	if !strings.Contains(regs[1].Text, "\nExpires: 120") || !strings.Contains(regs[1].Text, "expires=120") {
		t.Errorf("REGISTER after 423 does not ask for 120s:\n%s", regs[1].Text)
	}
	if gap := regs[1].At.Sub(regs[0].At); gap > time.Second {
		t.Errorf("REGISTER after 423 came %v after the first, want at once", gap)
	}
	gw.logWithin(t, 2*time.Second, `msg="trunk registered"`, "expires=2m0s")
	if !strings.Contains(gw.Log(), "min_expires=120") {
		t.Errorf("423 not logged with min_expires=120:\n%s", tail(gw.Log(), 3000))
	}
}

// TestTrunkRegisterRefused: a provider answering every REGISTER with 403
// gets one in a 4 s window and sipedge logs the refused account at error
// level; a 500 in the same setup (100-200ms backoff) gets many, so the
// window would see a storm.
func TestTrunkRegisterRefused(t *testing.T) {
	const window = 4 * time.Second
	for _, tc := range []struct {
		code     string
		min, max int
	}{
		{"403", 1, 1},
		{"500", 8, 40},
	} {
		t.Run(tc.code, func(t *testing.T) {
			prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_" + tc.code + ".xml", Calls: 10, Timeout: 20 * time.Second,
				Args: []string{"-trace_msg"}})
			gw := startSipedge(t, fastTrunk(sipURI(prov.Port, "udp"), nil))
			first := waitReceived(t, prov, "REGISTER", 1, 3*time.Second)[0]
			time.Sleep(time.Until(first.At.Add(window)))
			n := 0
			for _, r := range sippReceived(t, prov, "REGISTER") {
				if r.At.Sub(first.At) < window {
					n++
				}
			}
			t.Logf("%s: %d REGISTERs in %v", tc.code, n, window)
			if n < tc.min || n > tc.max {
				t.Errorf("%s: provider got %d REGISTERs in %v, want %d..%d", tc.code, n, window, tc.min, tc.max)
			}
			refused := gw.countLog("level=ERROR", "trunk provider refuses the account", "code="+tc.code, "retry_in=1h0m0s")
			if want := map[bool]int{true: 1, false: 0}[tc.max == 1]; refused != want {
				t.Errorf("%s: %d error lines naming the refused account, want %d:\n%s", tc.code, refused, want, tail(gw.Log(), 3000))
			}
		})
	}
}

// TestTrunkProviderKilledUDP: the provider (granting 6 s, so sipedge
// refreshes every second) is killed; the refresh times out (timeout 1s)
// and is retried with backoff (retry_min 1s, retry_max 2s); the provider
// comes back on the same port 3 s later and the registration is back
// within a timeout plus one backoff step.
func TestTrunkProviderKilledUDP(t *testing.T) {
	run := sippRun{Name: "provider1", Scenario: "uas_register_short.xml", Calls: 10, Timeout: 30 * time.Second,
		Args: []string{"-trace_msg", "-key", "expires", "6"}}
	first := startSIPp(t, run)
	gw := startSipedge(t, fastTrunk(sipURI(first.Port, "udp"), map[string]any{"retry_min": "1s", "retry_max": "2s"}))
	regs := waitReceived(t, first, "REGISTER", 2, 5*time.Second)
	if gap := regs[1].At.Sub(regs[0].At); gap < 800*time.Millisecond || gap > 2*time.Second {
		t.Errorf("refresh of a 6 s binding came %v after the REGISTER, want about 1s", gap)
	}
	first.Kill()
	gw.logWithin(t, 5*time.Second, "trunk registration failed")
	time.Sleep(3 * time.Second)
	run.Name, run.Port = "provider2", first.Port
	second := startSIPp(t, run)
	back := time.Now()
	got := waitReceived(t, second, "REGISTER", 1, 6*time.Second)
	d := got[0].At.Sub(back)
	t.Logf("registered again %v after the provider came back", d)
	if d > 4*time.Second {
		t.Errorf("restarted provider got the REGISTER %v after it came back, want within a timeout plus a 1-2s backoff", d)
	}
	waitReceived(t, second, "REGISTER", 2, 3*time.Second) // refreshed there: it was granted
}

// TestTrunkTCPConnectionKilled: the TCP connection sipedge registered
// over is reset while the provider stays up (a proxy in front of SIPp
// keeps its own connection to SIPp and resets sipedge's); sipedge
// notices and registers again at once on a new connection, long before
// the hour granted.
func TestTrunkTCPConnectionKilled(t *testing.T) {
	prov := startSIPp(t, sippRun{Name: "provider", Scenario: "uas_register_count.xml", Transport: "tcp", Calls: 10, Timeout: 30 * time.Second, Args: []string{"-trace_msg"}})
	px := startConnKiller(t, "127.0.0.1:"+itoa(prov.Port))
	gw := startSipedge(t, fastTrunk(sipURI(px.port, "tcp"), map[string]any{"retry_min": "5s", "retry_max": "10s"}))
	waitReceived(t, prov, "REGISTER", 1, 5*time.Second)
	gw.logWithin(t, 2*time.Second, `msg="trunk registered"`)
	time.Sleep(300 * time.Millisecond)
	if px.accepted() != 1 {
		t.Fatalf("sipedge opened %d connections to the provider, want 1", px.accepted())
	}
	killed := time.Now()
	px.kill()
	got := waitReceived(t, prov, "REGISTER", 2, 3*time.Second)
	d := got[1].At.Sub(killed)
	t.Logf("registered again %v after the reset", d)
	if d > 1500*time.Millisecond {
		t.Errorf("REGISTER %v after the connection was reset, want at once (sipedge looks twice a second)", d)
	}
	if px.accepted() != 2 {
		t.Errorf("sipedge opened %d connections, want a second one after the reset", px.accepted())
	}
	gw.logWithin(t, 2*time.Second, "trunk connection lost: registering again")
	if !strings.Contains(got[1].Text, "transport=tcp") {
		t.Errorf("second REGISTER not over TCP:\n%s", got[1].Text)
	}
}

// connKiller is a TCP proxy in front of a SIPp provider: one connection
// to SIPp for its whole life, carrying the bytes of whichever client
// connection is current, so resetting the client's connection leaves the
// provider up and unaware.
type connKiller struct {
	port int
	up   net.Conn
	ln   net.Listener
	wg   sync.WaitGroup

	mu   sync.Mutex
	down net.Conn
	n    int
}

// startConnKiller listens on a free loopback port and connects to the
// provider at once. It stops when the test ends.
func startConnKiller(t *testing.T, provider string) *connKiller {
	t.Helper()
	up, err := net.Dial("tcp", provider)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+itoa(loopback.FreePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	k := &connKiller{port: ln.Addr().(*net.TCPAddr).Port, up: up, ln: ln}
	k.wg.Add(2)
	go k.accept() // owner: k; ends when ln closes
	go k.fromUp() // owner: k; ends when up closes
	t.Cleanup(func() {
		_ = ln.Close()
		_ = up.Close()
		k.mu.Lock()
		if k.down != nil {
			_ = k.down.Close()
		}
		k.mu.Unlock()
		k.wg.Wait()
	})
	return k
}

func (k *connKiller) accept() {
	defer k.wg.Done()
	for {
		c, err := k.ln.Accept()
		if err != nil {
			return
		}
		k.mu.Lock()
		k.down, k.n = c, k.n+1
		k.mu.Unlock()
		k.wg.Add(1)
		go func() { // owner: k; ends when c is reset or closed
			defer k.wg.Done()
			_, _ = io.Copy(k.up, c)
		}()
	}
}

// fromUp carries the provider's bytes to the current client connection.
func (k *connKiller) fromUp() {
	defer k.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, err := k.up.Read(buf)
		if err != nil {
			return
		}
		k.mu.Lock()
		if k.down != nil {
			_, _ = k.down.Write(buf[:n])
		}
		k.mu.Unlock()
	}
}

// kill resets the current client connection (RST: linger 0).
func (k *connKiller) kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.down.(*net.TCPConn); ok {
		_ = c.SetLinger(0)
		_ = c.Close()
	}
	k.down = nil
}

func (k *connKiller) accepted() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}
