package lograte

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// captureHandler records every record at Debug and above.
type captureHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.recs...)
}

func TestLimiter(t *testing.T) {
	h := &captureHandler{}
	lim := New(50*time.Millisecond, 2)
	log := slog.New(Handler(h, lim))
	for range 100 {
		log.Info("junk")
	}
	log.Info("other")
	if n := len(h.records()); n != 3 {
		t.Fatalf("%d records before the interval ends, want 3", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(h.records()) < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	recs := h.records()
	if len(recs) != 4 || recs[3].Message != "log lines suppressed" {
		t.Fatalf("no summary: %v", recs)
	}
	var count int64
	recs[3].Attrs(func(a slog.Attr) bool {
		if a.Key == "count" {
			count = a.Value.Int64()
		}
		return true
	})
	if count != 98 {
		t.Fatalf("summary count %d, want 98", count)
	}
	lim.Close()
	lim.Close()
}

// TestDebugNotLimited: Debug records are not counted or held back.
func TestDebugNotLimited(t *testing.T) {
	h := &captureHandler{}
	lim := New(time.Hour, 1)
	defer lim.Close()
	log := slog.New(Handler(h, lim))
	for range 50 {
		log.Debug("chatty")
	}
	if n := len(h.records()); n != 50 {
		t.Fatalf("%d debug records written, want 50", n)
	}
}
