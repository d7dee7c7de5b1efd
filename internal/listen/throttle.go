package listen

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logEvery is the shortest time between two log lines of one kind.
const logEvery = time.Second

// throttle turns a stream of events of one kind into at most one log line
// per logEvery, each with the number of events since the previous line and
// the attributes of the latest. Safe for concurrent use.
type throttle struct {
	log   *slog.Logger
	level slog.Level
	msg   string

	mu    sync.Mutex
	count int
	last  time.Time
}

func newThrottle(log *slog.Logger, level slog.Level, msg string) *throttle {
	return &throttle{log: log, level: level, msg: msg}
}

// event counts one event and logs a line if none was logged in logEvery.
func (t *throttle) event(attrs ...any) {
	if !t.log.Enabled(context.Background(), t.level) {
		return
	}
	now := time.Now()
	t.mu.Lock()
	t.count++
	if now.Sub(t.last) < logEvery {
		t.mu.Unlock()
		return
	}
	n := t.count
	t.count, t.last = 0, now
	t.mu.Unlock()
	t.log.Log(context.Background(), t.level, t.msg, append([]any{"count", n}, attrs...)...)
}
