package lograte

import (
	"context"
	"log/slog"
)

// maxLogValue caps string attributes in sipgo's log records: sipgo logs
// whole unparsable messages, which would let a flood of garbage or
// oversize packets fill the logs.
const maxLogValue = 256

// sipgoHandler adapts sipgo's log records to ours: sipgo's warnings and
// info lines are chatty (a peer's bad packet, a connection's reference
// count) and go to Debug, its errors to Warn; the raw "data" of a message
// is left out and long strings are cut to maxLogValue bytes. Records that
// stay above Debug are rate-limited.
type sipgoHandler struct{ next slog.Handler }

// SIPHandler is the handler for every logger given to sipgo: its records
// mapped and cut as sipgoHandler says, then rate-limited by lim.
func SIPHandler(base slog.Handler, lim *Limiter) slog.Handler {
	return sipgoHandler{limitHandler{base, lim}}
}

// SIPLogger returns the logger for sipgo's process-wide default logger
// (sip.SetDefaultLogger), built on base with the same level mapping, cuts
// and rate limit as the gateway's own sipgo loggers. Call close at exit.
func SIPLogger(base *slog.Logger) (l *slog.Logger, close func()) {
	lim := New(Interval, Burst)
	return slog.New(SIPHandler(base.Handler(), lim)).With("component", "sip"), lim.Close
}

func sipgoLevel(l slog.Level) slog.Level {
	if l >= slog.LevelError {
		return slog.LevelWarn
	}
	return slog.LevelDebug
}

// Enabled implements slog.Handler.
func (h sipgoHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, sipgoLevel(l))
}

// Handle implements slog.Handler.
func (h sipgoHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, sipgoLevel(r.Level), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "data" {
			return true
		}
		if a.Value.Kind() == slog.KindString {
			if s := a.Value.String(); len(s) > maxLogValue {
				a.Value = slog.StringValue(s[:maxLogValue] + "...(truncated)")
			}
		}
		out.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h sipgoHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return sipgoHandler{h.next.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h sipgoHandler) WithGroup(name string) slog.Handler {
	return sipgoHandler{h.next.WithGroup(name)}
}
