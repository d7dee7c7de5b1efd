package gateway

import (
	"context"
	"log/slog"
)

// maxLogValue caps string attributes in sipgo's log records: sipgo logs
// whole unparsable messages, which would let a flood of garbage or
// oversize packets fill the logs.
const maxLogValue = 256

// truncatingHandler wraps the handler given to sipgo so that long string
// attributes are cut to maxLogValue bytes.
type truncatingHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h truncatingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Value.Kind() == slog.KindString {
			if s := a.Value.String(); len(s) > maxLogValue {
				a.Value = slog.StringValue(s[:maxLogValue] + "...(truncated)")
			}
		}
		out.AddAttrs(a)
		return true
	})
	return h.Handler.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h truncatingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return truncatingHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h truncatingHandler) WithGroup(name string) slog.Handler {
	return truncatingHandler{h.Handler.WithGroup(name)}
}
