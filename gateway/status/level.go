package status

import "log/slog"

// Level is how loudly a final response with code is logged, whether the
// proxy generated it or relayed it: server-side failures (5xx, 6xx) are
// warnings, a digest challenge (401, 407) is the normal first step of every
// registration and call and only worth a debug line, other refusals are
// informational, and successes are not logged as failures at all.
func Level(code int) slog.Level {
	switch {
	case code < 300:
		return slog.LevelDebug
	case code == 401 || code == 407:
		return slog.LevelDebug
	case code >= 500:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
