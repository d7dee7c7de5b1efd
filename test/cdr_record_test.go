package test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipedge/sipedge/gateway/cdr"
)

// readRecords reads the JSON Lines call record file.
func readRecords(t *testing.T, path string) []cdr.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []cdr.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var r cdr.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestCDRBrowserCall: a browser call to a phone through a real rtpengine,
// with media both ways, leaves one call record with both legs' packet
// counts, and feeds the call metrics.
func TestCDRBrowserCall(t *testing.T) {
	ctx := withTimeout(t, 60*time.Second)
	file := filepath.Join(t.TempDir(), "cdr.jsonl")
	m := startMediaGW(t, mgwOptions{CDR: map[string]any{"file": file}, Admin: map[string]any{"listen": "127.0.0.1:0"}})
	b := m.newBrowser(ctx, t, browserOptions{})
	start := time.Now()
	call, echo := m.browserCallsEcho(ctx, t, b)
	echoExchange(ctx, t, "browser call", b.peer, echo.Media, mgwPackets)
	if err := call.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := echo.WaitEnded(ctx); err != nil {
		t.Fatal(err)
	}
	var recs []cdr.Record
	for deadline := time.Now().Add(3 * time.Second); ; pause(20 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil {
			if recs = readRecords(t, file); len(recs) > 0 || time.Now().After(deadline) {
				break
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if len(recs) != 1 {
		t.Fatalf("%d call records, want 1: %+v\nlog:\n%s", len(recs), recs, m.gw.Log())
	}
	end := time.Now() // the record is written after the BYE's 200 was relayed
	r := recs[0]
	js, _ := json.MarshalIndent(r, "", "  ")
	t.Logf("call record:\n%s", js)
	if r.CallID != call.CallID || r.Disposition != cdr.Answered || r.Code != 200 || r.HungUp != cdr.ByCaller || r.Direction != cdr.Outbound {
		t.Errorf("record: call %s disposition %s code %d hung up by %s direction %s", r.CallID, r.Disposition, r.Code, r.HungUp, r.Direction)
	}
	if !strings.HasPrefix(r.Caller, "sip:alice@example.test") || !strings.HasPrefix(r.Callee, "sip:600@example.test") || r.Destination != "udp:"+m.echo.Addr() {
		t.Errorf("record: caller %q callee %q destination %q", r.Caller, r.Callee, r.Destination)
	}
	if r.Start.Before(start) || !r.Answer.After(r.Start) || !r.End.After(r.Answer) || r.End.After(end) ||
		r.Duration <= 0.9 || r.Duration > end.Sub(start).Seconds() || r.Setup <= 0 {
		t.Errorf("record times: start %v answer %v end %v duration %v setup %v (test %v..%v)", r.Start, r.Answer, r.End, r.Duration, r.Setup, start, end)
	}
	if r.Media == nil || r.Media.Caller == nil || r.Media.Callee == nil {
		t.Fatalf("record without both legs' media: %+v", r.Media)
	}
	// The browser sent mgwPackets, the phone echoed them and sent half as
	// many of its own: rtpengine received at least that much on each leg.
	if c := r.Media.Caller; c.Packets < mgwPackets*9/10 || c.Bytes == 0 || c.Codec != "PCMU/8000" {
		t.Errorf("caller (browser) leg: %+v", *c)
	}
	if c := r.Media.Callee; c.Packets < mgwPackets*3/2*9/10 || c.Bytes == 0 {
		t.Errorf("callee (phone) leg: %+v", *c)
	}
	if r.Media.Node != m.rtpe.NG {
		t.Errorf("record rtpengine node %q, want %q", r.Media.Node, m.rtpe.NG)
	}
	// The log line follows the file write on the same goroutine, so it may
	// land a moment after the record is readable.
	waitLog(t, m.gw, 3*time.Second, 1, `msg="call record"`, "call_id="+call.CallID)
	fams, _ := scrape(t, adminAddr(t, m.gw), "")
	if v, _ := metricValue(fams, "sipedge_calls_total", "disposition", "answered"); v != 1 {
		t.Errorf("sipedge_calls_total{answered} = %v, want 1", v)
	}
	if v, _ := metricValue(fams, "sipedge_call_duration_seconds"); v != 1 {
		t.Errorf("sipedge_call_duration_seconds count = %v, want 1", v)
	}
}
