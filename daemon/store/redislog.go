package store

import (
	"context"
	"fmt"
	"log/slog"
)

// RedisLogger routes go-redis's own messages to slog at debug level, for
// redis.SetLogger in main (go-redis has one logger per process). go-redis
// logs every failed dial; the store already logs each outage once, at warn.
type RedisLogger struct{ Logger *slog.Logger }

// Printf implements go-redis's logging interface.
func (r RedisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.Logger.DebugContext(ctx, fmt.Sprintf(format, v...), "source", "go-redis")
}
