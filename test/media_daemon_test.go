package test

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
)

const rtpengineBin = "/usr/bin/rtpengine"

// syncBuffer collects a child process's log for failure reports.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *syncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rtpengineProc is a real rtpengine started by a test on loopback.
type rtpengineProc struct {
	// NG is the control address as sipedge's config wants it:
	// "udp:127.0.0.1:PORT".
	NG  string
	log *syncBuffer
}

// Log returns the daemon's log so far.
func (r *rtpengineProc) Log() string { return r.log.String() }

// startRTPEngine runs /usr/bin/rtpengine in userspace on 127.0.0.1 with a
// random private media port range of 100 ports, waits until it answers an
// ng ping and kills it when the test ends. A missing binary fails the test.
func startRTPEngine(t *testing.T) *rtpengineProc {
	t.Helper()
	if _, err := os.Stat(rtpengineBin); err != nil {
		t.Fatalf("%s is required (Debian rtpengine-daemon; scripts/install-deps.sh installs it): %v", rtpengineBin, err)
	}
	port := freeUDPPort(t)
	base := 20000 + rand.IntN(400)*100 // 20000..59900
	cmd := exec.Command(rtpengineBin,
		"--config-file=none", "--table=-1", "--interface=127.0.0.1",
		fmt.Sprintf("--listen-ng=127.0.0.1:%d", port),
		"--foreground", "--log-stderr", "--log-level=6",
		fmt.Sprintf("--port-min=%d", base), fmt.Sprintf("--port-max=%d", base+99),
		"--delete-delay=0", "--num-threads=2")
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rtpengine: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("rtpengine log:\n%s", tail(log.String(), 6000))
		}
	})
	if err := waitNGPong(port, exited); err != nil {
		t.Fatalf("rtpengine not ready: %v\n%s", err, tail(log.String(), 4000))
	}
	return &rtpengineProc{NG: fmt.Sprintf("udp:127.0.0.1:%d", port), log: log}
}

// freeUDPPort returns a UDP port free on 127.0.0.1.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitNGPong pings the ng port until it answers (at most 10s) or the
// process exits.
func waitNGPong(port int, exited <-chan error) error {
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
		case err := <-exited:
			return fmt.Errorf("rtpengine exited: %v", err)
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
