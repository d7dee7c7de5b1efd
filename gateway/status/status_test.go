package status

import (
	"errors"
	"log/slog"
	"testing"
)

func TestLevel(t *testing.T) {
	for _, tc := range []struct {
		code int
		want slog.Level
	}{
		{200, slog.LevelDebug},
		{401, slog.LevelDebug},
		{407, slog.LevelDebug},
		{404, slog.LevelInfo},
		{480, slog.LevelInfo},
		{487, slog.LevelInfo},
		{500, slog.LevelWarn},
		{503, slog.LevelWarn},
		{603, slog.LevelWarn},
	} {
		if got := Level(tc.code); got != tc.want {
			t.Errorf("Level(%d) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

func TestErrorWrapsCause(t *testing.T) {
	cause := errors.New("no route")
	e := New(404, "Not Found", cause)
	if !errors.Is(e, cause) {
		t.Fatal("errors.Is does not find the cause")
	}
	if e.Error() != "404 Not Found: no route" || e.Cause() != "no route" {
		t.Fatalf("Error() = %q, Cause() = %q", e.Error(), e.Cause())
	}
	if got := New(480, "Temporarily Unavailable", nil).Cause(); got != "Temporarily Unavailable" {
		t.Fatalf("Cause without error = %q", got)
	}
}
