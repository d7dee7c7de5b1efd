// Package lograte rate-limits log records: anyone can send garbage to a
// public SIP port, so every line bad input causes passes a limiter (a flood
// must not fill the disk), and sipgo's own records are mapped to our levels
// and cut before they are written.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of the gateway's limiters: Burst records with the same message
// pass per Interval; the rest are counted and reported in one summary line
// at its end.
const (
	Burst    = 3
	Interval = 10 * time.Second
)

// Limiter lets the first burst records of each message text through per
// interval and sums the rest into one "log lines suppressed" record when
// the interval ends. Debug records are not limited. Close stops its timer
// and writes the pending summaries.
type Limiter struct {
	interval time.Duration
	burst    int

	mu     sync.Mutex
	keys   map[string]*window
	timer  *time.Timer // armed while a window has suppressed records
	closed bool
}

// window counts one message text's records in the current interval.
type window struct {
	start      time.Time
	passed     int
	suppressed int
	level      slog.Level
	h          slog.Handler // writes the summary
}

// New returns a limiter passing burst records of each message per interval.
func New(interval time.Duration, burst int) *Limiter {
	return &Limiter{interval: interval, burst: burst, keys: make(map[string]*window)}
}

// allow reports whether a record with msg may be written by h now.
func (l *Limiter) allow(msg string, lvl slog.Level, h slog.Handler) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[msg]
	if w == nil || now.Sub(w.start) >= l.interval && w.suppressed == 0 {
		w = &window{start: now}
		l.keys[msg] = w
	}
	if w.passed < l.burst {
		w.passed++
		return true
	}
	w.suppressed++
	w.level, w.h = max(w.level, lvl), h
	if l.timer == nil && !l.closed {
		l.timer = time.AfterFunc(max(w.start.Add(l.interval).Sub(now), 0), func() { l.flush(false) })
	}
	return false
}

// flush writes a summary for every window whose interval ended (all of
// them when final) and re-arms the timer for the others.
func (l *Limiter) flush(final bool) {
	type summary struct {
		msg string
		w   window
	}
	var out []summary
	now := time.Now()
	l.mu.Lock()
	l.timer = nil
	var next time.Duration
	for msg, w := range l.keys {
		if w.suppressed == 0 {
			if now.Sub(w.start) >= l.interval {
				delete(l.keys, msg)
			}
			continue
		}
		end := w.start.Add(l.interval)
		if !final && now.Before(end) {
			if d := end.Sub(now); next == 0 || d < next {
				next = d
			}
			continue
		}
		out = append(out, summary{msg, *w})
		delete(l.keys, msg)
	}
	if next > 0 && !l.closed && !final {
		l.timer = time.AfterFunc(next, func() { l.flush(false) })
	}
	l.mu.Unlock()
	for _, s := range out {
		r := slog.NewRecord(now, s.w.level, "log lines suppressed", 0)
		r.AddAttrs(slog.String("message", s.msg), slog.Int("count", s.w.suppressed),
			slog.Duration("interval", now.Sub(s.w.start).Round(time.Millisecond)))
		_ = s.w.h.Handle(context.Background(), r)
	}
}

// Close stops the timer and writes the pending summaries. Idempotent.
func (l *Limiter) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.mu.Unlock()
	l.flush(true)
}

// Handler returns a slog.Handler that writes to base the records l lets
// through (Debug records always pass).
func Handler(base slog.Handler, l *Limiter) slog.Handler { return limitHandler{base, l} }

// limitHandler is a slog.Handler that passes records through a limiter.
type limitHandler struct {
	slog.Handler
	l *Limiter
}

// Handle implements slog.Handler.
func (h limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && !h.l.allow(r.Message, r.Level, h.Handler) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return limitHandler{h.Handler.WithAttrs(as), h.l}
}

// WithGroup implements slog.Handler.
func (h limitHandler) WithGroup(name string) slog.Handler {
	return limitHandler{h.Handler.WithGroup(name), h.l}
}
