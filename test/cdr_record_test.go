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

// TestCDRClassicCalls: SIPp calls through sipedge without rtpengine leave
// one record each: an answered classic-to-classic call (no media stats),
// a call the caller cancelled while it rang, and an INVITE refused here
// before forwarding (no route: 404).
func TestCDRClassicCalls(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cdr.jsonl")
	uas := startSIPp(t, sippRun{Name: "uas", Scenario: "uas_call.xml"})
	ringer := startSIPp(t, sippRun{Name: "ringer", Scenario: "uas_ring_cancel.xml"})
	cfg := callConfig()
	cfg.Routes = []proxyRoute{{User: "^15551234$", To: []string{sipURI(uas.Port, "udp")}}, {User: "^ring$", To: []string{sipURI(ringer.Port, "udp")}}}
	cfg.CDR = map[string]any{"file": file}
	gw := startSipedge(t, cfg)
	start := time.Now()
	startSIPp(t, sippRun{Name: "uac", Scenario: "uac_call.xml", Remote: gw.Addr(t, "udp"), Service: "15551234"}).expectAllSuccessful(t, 1)
	uas.expectAllSuccessful(t, 1)
	startSIPp(t, sippRun{Name: "canceller", Scenario: "uac_cancel.xml", Remote: gw.Addr(t, "udp"), Service: "ring"}).expectAllSuccessful(t, 1)
	ringer.expectAllSuccessful(t, 1)
	startSIPp(t, sippRun{Name: "refused", Scenario: "uac_refused.xml", Remote: gw.Addr(t, "udp"), Service: "nobody"}).expectAllSuccessful(t, 1)

	byCallee := map[string]cdr.Record{}
	var recs []cdr.Record
	for deadline := time.Now().Add(3 * time.Second); ; pause(20 * time.Millisecond) {
		if _, err := os.Stat(file); err == nil {
			recs = readRecords(t, file)
		}
		if len(recs) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3: %+v", len(recs), recs)
	}
	for _, r := range recs {
		user, _, _ := strings.Cut(strings.TrimPrefix(r.Callee, "sip:"), "@")
		byCallee[user] = r
		if r.CallID == "" || !strings.HasPrefix(r.Caller, "sip:sipp@127.0.0.1:") || r.Direction != cdr.Transit || r.Media != nil {
			t.Errorf("%s: call id %q, caller %q, direction %q, media %+v", user, r.CallID, r.Caller, r.Direction, r.Media)
		}
		if r.Start.Before(start) || r.End.Before(r.Start) || r.End.After(time.Now()) {
			t.Errorf("%s: start %v end %v", user, r.Start, r.End)
		}
	}
	ans, can, ref := byCallee["15551234"], byCallee["ring"], byCallee["nobody"]
	if ans.Disposition != cdr.Answered || ans.Code != 200 || ans.HungUp != cdr.ByCaller || ans.Answer.IsZero() ||
		ans.Destination != "udp:127.0.0.1:"+itoa(uas.Port) || ans.Duration < 0 || ans.Answer.Before(ans.Start) {
		t.Errorf("answered call: %+v", ans)
	}
	if can.Disposition != cdr.Canceled || can.Code != 487 || can.HungUp != cdr.ByCaller || !can.Answer.IsZero() ||
		can.Destination != "udp:127.0.0.1:"+itoa(ringer.Port) || can.Duration != 0 {
		t.Errorf("cancelled call: %+v", can)
	}
	if ref.Disposition != cdr.Failed || ref.Code != 404 || ref.HungUp != "" || !ref.Answer.IsZero() || ref.Destination != "" {
		t.Errorf("refused call: %+v", ref)
	}
}
