package lograte

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestSIPHandler: sipgo's errors become warnings, the rest debug; a
// message's raw data is left out and long strings are cut.
func TestSIPHandler(t *testing.T) {
	h := &captureHandler{}
	lim := New(time.Hour, 100)
	defer lim.Close()
	log := slog.New(SIPHandler(h, lim))
	long := strings.Repeat("x", 5000)
	log.Error("read failed", "data", "INVITE sip:secret", "peer", long)
	log.Warn("bad packet")
	log.Info("connection ref")
	recs := h.records()
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	tests := []struct {
		msg   string
		level slog.Level
	}{
		{"read failed", slog.LevelWarn},
		{"bad packet", slog.LevelDebug},
		{"connection ref", slog.LevelDebug},
	}
	for i, tt := range tests {
		if recs[i].Message != tt.msg || recs[i].Level != tt.level {
			t.Errorf("record %d: %q at %v, want %q at %v", i, recs[i].Message, recs[i].Level, tt.msg, tt.level)
		}
	}
	recs[0].Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "data":
			t.Errorf("raw data logged: %s", a.Value)
		case "peer":
			if s := a.Value.String(); len(s) != maxLogValue+len("...(truncated)") || !strings.HasSuffix(s, "...(truncated)") {
				t.Errorf("long value not cut: %d bytes", len(s))
			}
		}
		return true
	})
}
