package cdr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bencodeLike turns decoded JSON numbers into int64, as rtpengine.Reply.Map
// gives them.
func bencodeLike(v any) any {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return n
	case map[string]any:
		for k, e := range x {
			x[k] = bencodeLike(e)
		}
	case []any:
		for i, e := range x {
			x[i] = bencodeLike(e)
		}
	}
	return v
}

func loadReply(t *testing.T, name string) map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return bencodeLike(m).(map[string]any)
}

// TestLegsFromStats reads a real rtpengine 10.5 query reply of a browser
// call (testdata/query-browser-call.json: the browser's tag akytkhJoo3
// over DTLS-SRTP, the phone's over RTP/AVP; no RTCP, so no MOS), then the
// same with an SSRC section added by hand in the shape rtpengine gives
// when RTCP arrives.
func TestLegsFromStats(t *testing.T) {
	const browser, phone = "akytkhJoo3", "7d5227cf-f561-4945-9075-b13d98002ba3"
	m := loadReply(t, "query-browser-call.json")
	caller, callee := LegsFromStats(m, browser, phone)
	if caller == nil || callee == nil {
		t.Fatalf("legs %v %v", caller, callee)
	}
	if caller.Packets != 53 || caller.Bytes != 8692 || callee.Packets != 75 || callee.Bytes != 12900 || caller.Codec != "PCMU/8000" {
		t.Errorf("caller %+v callee %+v", *caller, *callee)
	}
	if caller.MOS != nil || callee.JitterMS != nil {
		t.Errorf("quality without RTCP: %+v %+v", *caller, *callee)
	}
	if a, b := LegsFromStats(m, "nobody", ""); a != nil || b != nil {
		t.Errorf("unknown tags: %v %v", a, b)
	}
	m["SSRC"] = map[string]any{"105025851": map[string]any{
		"average MOS": map[string]any{"MOS": int64(43), "jitter": int64(12), "packet loss": int64(1), "round-trip time": int64(200)}}}
	caller, _ = LegsFromStats(m, browser, phone)
	if caller.MOS == nil || *caller.MOS != 4.3 || *caller.JitterMS != 12 || *caller.LossPercent != 1 {
		t.Errorf("caller quality %+v", *caller)
	}
}

func TestDispositionOf(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{{200, Answered}, {486, Busy}, {600, Busy}, {603, Busy}, {480, NoAnswer}, {408, NoAnswer}, {487, Canceled}, {404, Failed}, {500, Failed}}
	for _, tc := range tests {
		if got := DispositionOf(tc.code); got != tc.want {
			t.Errorf("DispositionOf(%d) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

func TestWriter(t *testing.T) {
	got := make(chan string, 2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Get("Content-Type") + " " + string(b)
	}))
	defer hook.Close()
	file := filepath.Join(t.TempDir(), "cdr.jsonl")
	cfg := Config{File: file, Webhook: hook.URL}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	w.Record(&Record{CallID: "c1", Start: at, End: at.Add(time.Second), Disposition: Failed, Code: 404})
	w.Record(&Record{CallID: "c2", Start: at, Answer: at, End: at.Add(2 * time.Second), Duration: 2, Disposition: Answered, Code: 200, HungUp: ByCaller})
	for _, want := range []string{`"call_id":"c1"`, `"call_id":"c2"`} {
		select {
		case s := <-got:
			if !strings.HasPrefix(s, "application/json {") || !strings.Contains(s, want) {
				t.Errorf("webhook got %q, want %s", s, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("webhook not called")
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		recs = append(recs, r)
	}
	if len(recs) != 2 || recs[0].CallID != "c1" || recs[1].HungUp != ByCaller || !recs[0].Answer.IsZero() {
		t.Errorf("file records %+v", recs)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{Webhook: "https://x.test/cdr"}, ""},
		{Config{Webhook: "ftp://x"}, "webhook (ftp://x): must be an http:// or https:// URL"},
		{Config{QueueSize: -1}, "queue_size (-1): must be 1..1048576"},
	}
	for _, tc := range tests {
		tc.cfg.SetDefaults()
		err := tc.cfg.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestWriterUnread: a record goes to an Info log; with the log at Warn
// and neither file nor webhook, nothing reads it and nothing is encoded.
func TestWriterUnread(t *testing.T) {
	rec := &Record{CallID: "c1", Disposition: Answered, Code: 200}
	for _, tc := range []struct {
		level  slog.Level
		logged bool
	}{{slog.LevelInfo, true}, {slog.LevelWarn, false}} {
		var buf bytes.Buffer
		w, err := NewWriter(Config{}, slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: tc.level})))
		if err != nil {
			t.Fatal(err)
		}
		w.Record(rec)
		if got := strings.Contains(buf.String(), `"call_id":"c1"`); got != tc.logged {
			t.Errorf("level %v: record logged %v, want %v: %q", tc.level, got, tc.logged, buf.String())
		}
		if !tc.logged {
			if n := testing.AllocsPerRun(100, func() { w.Record(rec) }); n != 0 {
				t.Errorf("level %v: %v allocations per unread record, want 0", tc.level, n)
			}
		}
		_ = w.Close()
	}
}
