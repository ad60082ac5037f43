package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"counter/daemon/store"
)

var _ Store = (*store.Store)(nil)

// openStore connects to Redis; it does not fail when Redis is down (reads then
// serve the last value, marked old, and /readyz says why).
func openStore(ctx context.Context, cfg Config, log *slog.Logger, hub *Hub, m *Metrics) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{
		LocalURL:     cfg.Redis,
		MasterURL:    cfg.Master,
		Sentinels:    cfg.SentinelAddrs(),
		MasterName:   cfg.MasterName,
		Password:     cfg.RedisPassword,
		CAFile:       cfg.RedisCAFile,
		CertFile:     cfg.RedisCertFile,
		KeyFile:      cfg.RedisKeyFile,
		SessionTTL:   cfg.SessionTTL,
		PollInterval: pollInterval(cfg.MaxStaleness),
		Timeout:      cfg.RedisTimeout,
		Logger:       log.With("component", "store"),
		OnChange:     hub.Publish,
		OnRedisError: m.RedisError,
		// Accounts from before logins were case-insensitive: see docs/security.md.
		FoldLegacyLogins: true,
	})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return st, nil
}

// pollInterval lets the value be confirmed about four times within --max-staleness,
// so one slow or lost poll does not make a healthy node unready.
func pollInterval(maxStaleness time.Duration) time.Duration {
	return min(max(maxStaleness/4, 10*time.Millisecond), time.Second)
}
