package rtpenginetest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

const rtpengineBin = "/usr/bin/rtpengine"

// Daemon is a real rtpengine started by a test on loopback.
type Daemon struct {
	UDP string // "udp:127.0.0.1:PORT"
	TCP string // "tcp:127.0.0.1:PORT"
	Dir string // recording directory
}

// lockedBuffer collects the daemon's log for failure reports.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartDaemon runs /usr/bin/rtpengine in userspace on loopback with a small
// private media port range, waits until it answers a ping, and kills it
// when the test ends. A missing binary fails the test. Under -short
// (make unit, the tests that need no peer) the test is skipped instead;
// make test never passes -short.
func StartDaemon(tb testing.TB) Daemon { return StartDaemonPorts(tb, 100, 6) }

// StartDaemonPorts is StartDaemon with a media port range of n ports and a
// log level (6 info, 4 warnings only).
func StartDaemonPorts(tb testing.TB, n, logLevel int) Daemon {
	tb.Helper()
	return StartProc(tb, n, logLevel).Daemon
}

// Proc is a real rtpengine that a test can kill and start again on the same
// ng ports, media port range and flags (a daemon crash and its restart by a
// supervisor). Its methods are for the test's goroutine.
type Proc struct {
	Daemon
	tb      testing.TB
	args    []string
	udpPort int
	log     lockedBuffer
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has exited; nil when not running
}

// StartProc is StartDaemonPorts returning the process, so the test can Kill
// and Restart it. The process running when the test ends is killed.
func StartProc(tb testing.TB, n, logLevel int) *Proc {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs the rtpengine daemon: not in -short (make unit); make test runs it")
	}
	if _, err := os.Stat(rtpengineBin); err != nil {
		tb.Fatalf("%s is required (Debian rtpengine-daemon; scripts/install-deps.sh installs it): %v", rtpengineBin, err)
	}
	udpPort, tcpPort := loopback.FreePort(tb), loopback.FreePort(tb)
	base := 20000 + rand.IntN((40000-n)/100)*100 // within 20000..60000
	dir := tb.TempDir()
	p := &Proc{
		Daemon: Daemon{
			UDP: fmt.Sprintf("udp:127.0.0.1:%d", udpPort),
			TCP: fmt.Sprintf("tcp:127.0.0.1:%d", tcpPort),
			Dir: dir,
		},
		tb:      tb,
		udpPort: udpPort,
		args: []string{
			"--config-file=none", "--table=-1", "--interface=127.0.0.1",
			fmt.Sprintf("--listen-ng=127.0.0.1:%d", udpPort),
			fmt.Sprintf("--listen-tcp-ng=127.0.0.1:%d", tcpPort),
			"--foreground", "--log-stderr", fmt.Sprintf("--log-level=%d", logLevel),
			fmt.Sprintf("--port-min=%d", base), fmt.Sprintf("--port-max=%d", base+n-1),
			"--delete-delay=0", "--num-threads=2",
			"--recording-dir=" + dir, "--recording-method=pcap",
		},
	}
	tb.Cleanup(func() {
		p.stop()
		if tb.Failed() {
			tb.Logf("rtpengine log:\n%s", tail(p.log.String(), 4000))
		}
	})
	if err := p.start(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// start runs the daemon and waits until it answers a ping.
func (p *Proc) start() error {
	cmd := exec.Command(rtpengineBin, p.args...)
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start rtpengine: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { // owner: p; ends with the process, waited for by stop
		waitErr = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	if err := waitPong(p.udpPort, exited, &waitErr); err != nil {
		return fmt.Errorf("rtpengine not ready: %w\n%s", err, tail(p.log.String(), 4000))
	}
	return nil
}

// stop kills the daemon (if running) and waits for it.
func (p *Proc) stop() {
	if p.exited == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	p.cmd, p.exited = nil, nil
}

// Kill ends the daemon with SIGKILL, as a crash would (no cleanup, every
// call it held is gone), and waits until it has exited.
func (p *Proc) Kill() {
	p.tb.Helper()
	if p.exited == nil {
		p.tb.Fatalf("rtpengine.Kill: not running")
	}
	p.stop()
}

// Restart starts the daemon again with the same ports and flags and waits
// until it answers a ping; it kills a running one first.
func (p *Proc) Restart() {
	p.tb.Helper()
	p.stop()
	if err := p.start(); err != nil {
		p.tb.Fatal(err)
	}
}

// waitPong pings the ng port until it answers (at most 10s), or the
// process exits.
func waitPong(port int, exited <-chan struct{}, waitErr *error) error {
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	buf := make([]byte, 256)
	for i := 0; ctx.Err() == nil; i++ {
		select {
		case <-exited:
			return fmt.Errorf("rtpengine exited: %v", *waitErr)
		default:
		}
		if _, err := fmt.Fprintf(c, "ready%d d7:command4:pinge", i); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil && strings.Contains(string(buf[:n]), "pong") {
			return nil
		}
		select { // not up yet (ICMP refused): poll again shortly
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	return ctx.Err()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
