package cluster

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// redisLog carries go-redis's own messages (pool dial failures, repeated
// while Redis is down) into our logger at debug level: the store logs
// the trouble itself, once per outage.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

// SetLibraryLogger routes go-redis's process-wide logger into log. Call
// it once at start, as cmd does (the library keeps one logger for the
// process).
func SetLibraryLogger(log *slog.Logger) {
	redis.SetLogger(redisLog{log.With("component", "redis")})
}
