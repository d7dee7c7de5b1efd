package test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runTool runs one of Debian's sipvicious tools with args and returns its
// output; it must end on its own within limit.
func runTool(t *testing.T, limit time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	// Their own source port, not their default 5060 (on 0.0.0.0): other
	// packages' tests that run at the same time listen on 127.x.y.z:5060.
	args = append([]string{"-P", strconv.Itoa(freeUDPPort(t, "127.0.0.1"))}, args...)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = t.TempDir() // svwar/svcrack keep session files in ~/.sipvicious; harmless here
	cmd.Env = append(os.Environ(), "HOME="+cmd.Dir)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not end within %v:\n%s", name, args, limit, out)
	}
	t.Logf("%s %s (exit %v):\n%s", name, strings.Join(args, " "), err, out)
	return string(out)
}

// legitLoop registers and calls from src until stop is closed, counting
// successes and failures; it returns when stop is closed and the call in
// progress is done.
type legitLoop struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
	done       chan struct{}
}

func startLegit(t *testing.T, src, proxy, user, pass, number string, stop <-chan struct{}) *legitLoop {
	t.Helper()
	c, err := newEdgeCaller(src, proxy, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	l := &legitLoop{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer c.Close()
		for i := 0; i < 10000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			err := c.Register()
			if err == nil {
				err = c.Call(number, 5*time.Second)
			}
			if err != nil {
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.errs) < 5 {
					l.errs = append(l.errs, err.Error())
				}
				l.mu.Unlock()
				continue
			}
			l.ok.Add(1)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return l
}

func (l *legitLoop) check(t *testing.T, what string) {
	t.Helper()
	<-l.done
	ok, failed := l.ok.Load(), l.failed.Load()
	t.Logf("%s: %d register+call rounds succeeded, %d failed", what, ok, failed)
	if ok == 0 || failed > 0 {
		t.Errorf("%s: %d succeeded, %d failed (want all): %v", what, ok, failed, l.errs)
	}
}

// banConfig is sipedge on UDP 127.0.0.1 with extension 100 and user alice,
// routing 1555... to uas, with the default bans (trusted: nobody).
func banConfig(uas string) proxyConfig {
	return proxyConfig{
		Listen: []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"},
		Users:  map[string]string{"alice": "alice-secret", "100": "s3cret-100"},
		Routes: []proxyRoute{{User: "^1555", To: []string{"sip:" + uas}}},
	}
}

// Loopback addresses of the edge tests: sipedge and the scanners (svwar and
// svcrack always send from 127.0.0.1 toward 127.0.0.1), the phone,
// and the UAS the phone calls.
const (
	edgePhoneIP = "127.0.0.2"
	edgeUASIP   = "127.0.0.3"
)

// TestBanSipvicious runs svmap, svwar and svcrack against sipedge on
// 127.0.0.1 with the default bans, each against a fresh sipedge: each is
// banned at its first request (the friendly-scanner User-Agent) and gets no
// answer at all, so svmap finds nothing, svwar learns no extension and
// svcrack no password; with the User-Agent check off, svwar still learns
// nothing (the same challenge for every user) and svcrack is banned for
// failed authentications after max_auth_failures (10) + 1 guesses. A
// phone on 127.0.0.2 registers and calls throughout, and after.
func TestBanSipvicious(t *testing.T) {
	dict := filepath.Join(t.TempDir(), "dict.txt")
	var words []string
	for i := range 30 {
		words = append(words, fmt.Sprintf("guess%02d", i))
	}
	words = append(words, "s3cret-100") // the 31st guess: beyond the ban
	if err := os.WriteFile(dict, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		ban    map[string]any
		tool   string
		args   func(addr, host, port string) []string
		reason string
		leak   []string // what the tool's output must not show
	}{
		{"svmap", nil, "svmap", func(_, host, port string) []string { return []string{"-p", port, host} },
			"reason=scanner", []string{"sipedge", "| UDP"}},
		{"svwar", nil, "svwar", func(addr, _, _ string) []string {
			return []string{"-e", "90-130", "--maximumtime", "2", "udp://" + addr}
		}, "reason=scanner", []string{"| 100", "reqauth", "noauth"}},
		// Without the User-Agent check svwar is answered: every REGISTER
		// gets the same challenge, known user or not, so even forced
		// (svwar gives up otherwise: "authentication request for an
		// unknown extension") it learns nothing; 41 requests are far
		// below the rate limit, so nothing is banned either.
		{"svwar without the User-Agent check", map[string]any{"scanners_off": true}, "svwar", func(addr, _, _ string) []string {
			return []string{"-e", "90-130", "--force", "--maximumtime", "2", "udp://" + addr}
		}, "", []string{"| 100", "reqauth", "noauth"}},
		{"svcrack", nil, "svcrack", func(addr, _, _ string) []string {
			return []string{"-u", "100", "-d", dict, "--maximumtime", "2", "udp://" + addr}
		}, "reason=scanner", []string{"s3cret-100"}},
		{"svcrack without the User-Agent check", map[string]any{"scanners_off": true}, "svcrack", func(addr, _, _ string) []string {
			return []string{"-u", "100", "-d", dict, "--maximumtime", "2", "udp://" + addr}
		}, "reason=auth", []string{"s3cret-100"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			uas := startGoUAS(t, edgeUASIP, "udp", nil)
			cfg := banConfig(uas.Addr)
			cfg.Ban = tt.ban
			gw := startSipedge(t, cfg)
			addr := gw.Addr(t, "udp")
			host, port, _ := strings.Cut(addr, ":")
			stop := make(chan struct{})
			legit := startLegit(t, edgePhoneIP, addr, "alice", "alice-secret", "15551234", stop)
			out := runTool(t, 90*time.Second, tt.tool, tt.args(addr, host, port)...)
			close(stop)
			for _, l := range tt.leak {
				if strings.Contains(out, l) {
					t.Errorf("%s learned something (%q in its output)", tt.tool, l)
				}
			}
			if !strings.Contains(out, "found nothing") {
				t.Errorf("%s did not report finding nothing", tt.tool)
			}
			lines := logLines(gw, `msg="source banned"`)
			if tt.reason == "" {
				if len(lines) != 0 {
					t.Fatalf("ban lines %q, want none", lines)
				}
			} else if len(lines) != 1 || !strings.Contains(lines[0], "src=127.0.0.1 ") || !strings.Contains(lines[0], tt.reason) {
				t.Fatalf("ban lines %q, want one for src=127.0.0.1 with %s", lines, tt.reason)
			}
			if tt.reason == "reason=auth" && !strings.Contains(lines[0], "failures=11") {
				t.Errorf("auth ban after %q, want failures=11", lines[0])
			}
			legit.check(t, "phone on 127.0.0.2 during the scan")
			after, err := newEdgeCaller(edgePhoneIP, addr, "alice", "alice-secret")
			if err != nil {
				t.Fatal(err)
			}
			defer after.Close()
			if err := after.Register(); err != nil {
				t.Fatalf("phone after the scan: %v", err)
			}
			if err := after.Call("15551234", 5*time.Second); err != nil {
				t.Fatalf("phone after the scan: %v", err)
			}
		})
	}
}

// TestBanAtAccept bans 127.0.0.5 with one scanner OPTIONS over UDP, then
// wants its TCP and WebSocket connections closed at accept (no byte, no
// HTTP answer) while 127.0.0.2 still connects and registers over both.
func TestBanAtAccept(t *testing.T) {
	gw := startSipedge(t, proxyConfig{
		Listen: []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0", "ws://127.0.0.1:0/ws"},
		Users:  map[string]string{"u0": "pw"},
	})
	udp, tcp, wsAddr := gw.Addr(t, "udp"), gw.Addr(t, "tcp"), gw.Addr(t, "ws")
	scan, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.5")})
	if err != nil {
		t.Fatal(err)
	}
	defer scan.Close()
	raddr, _ := net.ResolveUDPAddr("udp", udp)
	opts := fmt.Sprintf("OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKscan1;rport\r\n"+
		"From: <sip:100@127.0.0.1>;tag=s1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: scan-1\r\nCSeq: 1 OPTIONS\r\n"+
		"Max-Forwards: 70\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n", scan.LocalAddr())
	if _, err := scan.WriteToUDP([]byte(opts), raddr); err != nil {
		t.Fatal(err)
	}
	waitLog(t, gw, 5*time.Second, 1, `msg="source banned"`, "src=127.0.0.5 ", "reason=scanner")
	_ = scan.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := scan.ReadFromUDP(make([]byte, 2048)); err == nil {
		t.Fatalf("the scanner got an answer (%d bytes)", n)
	}
	dialFrom := func(src, addr string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %s from %s: %v", addr, src, err)
		}
		return c
	}
	for _, addr := range []string{tcp, wsAddr} {
		c := dialFrom("127.0.0.5", addr)
		_, _ = c.Write([]byte("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(make([]byte, 512))
		_ = c.Close()
		if err == nil || n > 0 {
			t.Errorf("%s: banned source read %d bytes, err %v; want the connection closed at accept", addr, n, err)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: banned source's connection left open", addr)
		}
	}
	ctx := withTimeout(t, 10*time.Second)
	ok, err := benchDial(ctx, "ws://"+wsAddr+"/ws", edgePhoneIP, wsDialOpts{LocalIP: edgePhoneIP})
	if err != nil {
		t.Fatalf("ws from 127.0.0.2: %v", err)
	}
	defer ok.conn.CloseNow()
	if err := ok.register(ctx, "u0", "pw"); err != nil {
		t.Fatalf("ws REGISTER from 127.0.0.2: %v", err)
	}
	c := dialFrom(edgePhoneIP, tcp)
	defer c.Close()
	_, _ = c.Write([]byte(strings.Replace(strings.Replace(opts, "friendly-scanner", "phone", 1), "SIP/2.0/UDP", "SIP/2.0/TCP", 1)))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(make([]byte, 2048)); err != nil || n == 0 {
		t.Fatalf("tcp OPTIONS from 127.0.0.2: no answer: %v", err)
	}
}
