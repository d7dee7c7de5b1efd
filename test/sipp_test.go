package test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/test/loopback"
)

// sippBin is where Debian's sip-tester installs SIPp.
const sippBin = "/usr/bin/sipp"

// sippRun describes one SIPp process.
type sippRun struct {
	Name      string        // label for logs and file names
	Scenario  string        // file name in testdata/sipp
	Transport string        // "udp" (default) or "tcp"
	IP        string        // -i: local address (default 127.0.0.1)
	Port      int           // local port; 0 picks a free one
	Remote    string        // host:port to send to (UAC); empty for a UAS
	Service   string        // -s: Request-URI user (UAC)
	Calls     int           // -m: calls to place / answer (default 1)
	Rate      int           // -r: calls per second (UAC, default 10)
	Limit     int           // -l: concurrent calls cap (0: SIPp default)
	Timeout   time.Duration // -timeout for the whole run (default 15s)
	Args      []string      // extra arguments, e.g. -au/-ap
}

// sippProc is a started SIPp process.
type sippProc struct {
	Run  sippRun
	Port int    // the local port SIPp listens on
	Dir  string // working directory holding stats and logs
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	err  error
}

// sippResult is what a finished SIPp process reports.
type sippResult struct {
	// Code is SIPp's exit code: 0 all calls successful, 1 at least one
	// failed, 97 exit on internal command, 99 normal exit without calls,
	// 255 fatal error; -1 when it was killed.
	Code       int
	Successful int // SuccessfulCall(C) from the final -trace_stat line
	Failed     int // FailedCall(C)
	Stats      map[string]string
	Errors     string // the -trace_err file
	Screen     string // the -trace_screen file
	Elapsed    time.Duration
}

// requireSIPp fails the test when SIPp is not installed.
func requireSIPp(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sippBin); err != nil {
		t.Fatalf("SIPp is required (Debian package sip-tester, scripts/install-deps.sh): %v", err)
	}
}

// startSIPp starts SIPp as described by r, with statistics, error and
// screen traces in a fresh directory. For a UAS (no Remote) it returns once
// SIPp's socket is bound. The process is killed when the test ends.
func startSIPp(t *testing.T, r sippRun) *sippProc {
	t.Helper()
	requireSIPp(t)
	if r.Transport == "" {
		r.Transport = "udp"
	}
	if r.Calls == 0 {
		r.Calls = 1
	}
	if r.Rate == 0 {
		r.Rate = 10
	}
	if r.Timeout == 0 {
		r.Timeout = 15 * time.Second
	}
	if r.Name == "" {
		r.Name = strings.TrimSuffix(r.Scenario, ".xml")
	}
	if r.IP == "" {
		r.IP = "127.0.0.1"
	}
	if r.Port == 0 {
		r.Port = loopback.FreePort(t)
	}
	scen, err := filepath.Abs(filepath.Join("testdata", "sipp", r.Scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := map[string]string{"udp": "u1", "tcp": "t1"}[r.Transport]
	if tr == "" {
		t.Fatalf("sipp transport %q not supported", r.Transport)
	}
	args := []string{
		"-sf", scen,
		"-i", r.IP, "-p", strconv.Itoa(r.Port),
		"-t", tr,
		"-m", strconv.Itoa(r.Calls),
		"-timeout", fmt.Sprintf("%ds", int(r.Timeout.Seconds())), "-timeout_error",
		"-max_recv_loops", "1000",
		"-d", "100", // call length (uac_call pause): an ACK and a BYE sent at once may swap in a parallel proxy
		"-nostdin", "-trace_stat", "-stf", "stats.csv",
		"-trace_err", "-error_file", "errors.log",
		"-trace_screen", "-screen_file", "screen.log",
	}
	if r.Remote != "" {
		args = append(args, "-r", strconv.Itoa(r.Rate))
		if r.Service != "" {
			args = append(args, "-s", r.Service)
		}
	}
	if r.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(r.Limit))
	}
	args = append(args, r.Args...)
	if r.Remote != "" {
		args = append(args, r.Remote)
	}
	// The context is a backstop: SIPp's own -timeout should end it first.
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout+5*time.Second)
	cmd := exec.CommandContext(ctx, sippBin, args...)
	cmd.Dir = dir
	p := &sippProc{Run: r, Port: r.Port, Dir: dir, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start sipp %s: %v", r.Name, err)
	}
	go func() { // owner: p; ends when the process exits (bounded by ctx)
		defer close(p.done)
		defer cancel()
		p.err = cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	if r.Remote == "" {
		p.waitBound(t)
	}
	return p
}

// waitBound waits until SIPp's listening socket shows up in /proc/net,
// failing the test if SIPp exits first or takes more than 5s.
func (p *sippProc) waitBound(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if portBound(p.Run.Transport, p.Port) {
			return
		}
		select {
		case <-p.done:
			t.Fatalf("sipp %s exited before binding port %d: %v\n%s", p.Run.Name, p.Port, p.err, p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("sipp %s did not bind %s port %d within 5s", p.Run.Name, p.Run.Transport, p.Port)
}

// portBound reports whether a local socket is bound to port (UDP) or
// listening on it (TCP), according to /proc/net.
func portBound(transport string, port int) bool {
	file, state := "/proc/net/udp", ""
	if transport == "tcp" {
		file, state = "/proc/net/tcp", "0A" // TCP_LISTEN
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	suffix := fmt.Sprintf(":%04X", port)
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		if strings.HasSuffix(f[1], suffix) && (state == "" || f[3] == state) {
			return true
		}
	}
	return false
}

// Wait waits for SIPp to exit and collects its exit code and statistics.
func (p *sippProc) Wait(t *testing.T) sippResult {
	t.Helper()
	start := time.Now()
	<-p.done
	res := sippResult{Code: 0, Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
	case errors.As(p.err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("sipp %s: %v", p.Run.Name, p.err)
	}
	res.Stats = readSIPpStats(filepath.Join(p.Dir, "stats.csv"))
	res.Successful, _ = strconv.Atoi(res.Stats["SuccessfulCall(C)"])
	res.Failed, _ = strconv.Atoi(res.Stats["FailedCall(C)"])
	if b, err := os.ReadFile(filepath.Join(p.Dir, "errors.log")); err == nil {
		res.Errors = string(b)
	}
	if b, err := os.ReadFile(filepath.Join(p.Dir, "screen.log")); err == nil {
		res.Screen = string(b)
	}
	return res
}

// readSIPpStats returns the last row of a -trace_stat file keyed by column.
func readSIPpStats(path string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(path)
	if err != nil {
		return out
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		return out
	}
	head, last := rows[0], rows[len(rows)-1]
	for i, k := range head {
		if i < len(last) {
			out[k] = last[i]
		}
	}
	return out
}

// expectAllSuccessful fails the test unless SIPp exited 0 with calls
// successful calls and none failed; it prints SIPp's traces otherwise.
func (p *sippProc) expectAllSuccessful(t *testing.T, calls int) sippResult {
	t.Helper()
	res := p.Wait(t)
	if res.Code != 0 || res.Successful != calls || res.Failed != 0 {
		t.Errorf("sipp %s: exit %d, %d successful, %d failed; want exit 0, %d successful, 0 failed\nerrors:\n%s\nscreen:\n%s\noutput:\n%s",
			p.Run.Name, res.Code, res.Successful, res.Failed, calls, tail(res.Errors, 4000), tail(res.Screen, 3000), tail(p.out.String(), 2000))
	}
	return res
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// sipURI returns a SIP URI for a SIPp (or other) peer on 127.0.0.1:port.
func sipURI(port int, transport string) string {
	u := fmt.Sprintf("sip:127.0.0.1:%d", port)
	if transport != "" && transport != "udp" {
		u += ";transport=" + transport
	}
	return u
}

func itoa(n int) string { return strconv.Itoa(n) }
