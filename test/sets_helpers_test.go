package test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// invites stops a SIPp UAS that runs without -m (SIGINT: it writes its
// final counts) and returns the INVITEs it received, from its
// -trace_counts file (a UAS whose scenario also answers probes counts
// each OPTIONS as a call of its own, so calls are no measure).
func (p *sippProc) invites(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("sipp %s did not stop on SIGINT", p.Run.Name)
	}
	files, _ := filepath.Glob(filepath.Join(p.Dir, "*_counts.csv"))
	if len(files) != 1 {
		t.Fatalf("sipp %s: counts file: %v (start it with -trace_counts)", p.Run.Name, files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma, r.FieldsPerRecord = ';', -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("sipp %s: counts file: %v (%d rows)", p.Run.Name, err, len(rows))
	}
	head, last := rows[0], rows[len(rows)-1]
	n := 0
	for i, k := range head {
		if strings.HasSuffix(k, "_INVITE_Recv") && i < len(last) {
			v, _ := strconv.Atoi(last[i])
			n += v
		}
	}
	return n
}

// memberUAS starts a SIPp UAS for a set member that answers calls and
// probes (uas_call_options.xml or uas_503_options.xml) until the test
// stops it with invites; port 0 picks a free one.
func memberUAS(t *testing.T, name, scenario string, port int) *sippProc {
	t.Helper()
	return startSIPp(t, sippRun{Name: name, Scenario: scenario, Port: port, Calls: 100000,
		// A new INVITE with a Call-ID it saw 100ms ago is a new call
		// (SIPp's default absorbs messages of a dead call for 33s).
		Timeout: 60 * time.Second, Args: []string{"-trace_counts", "-deadcall_wait", "100"}})
}

// logWithin waits until sipedge's log has a line containing every part, or
// fails the test after d.
func (p *sipedgeProc) logWithin(t *testing.T, d time.Duration, parts ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		for _, line := range strings.Split(p.Log(), "\n") {
			if containsAll(line, parts) {
				return time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line with %q within %v", parts, d)
	return 0
}

// countLog counts sipedge's log lines containing every part.
func (p *sipedgeProc) countLog(parts ...string) int {
	n := 0
	for _, line := range strings.Split(p.Log(), "\n") {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
