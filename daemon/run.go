// Package daemon is counterd: the counter page and API served from Redis.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"counter/daemon/buildinfo"
)

// Run is counterd's main: parse configuration from args and getenv, serve until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	switch {
	case errors.Is(err, errHelp):
		return nil
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, "counterd", buildinfo.String())
		return nil
	case err != nil:
		return err
	}
	log := newLogger(cfg, stderr)

	d, err := Listen(cfg, log)
	if err != nil {
		return err
	}
	hub, metrics := NewHub(), NewMetrics()
	st, err := openStore(ctx, cfg, log, hub, metrics)
	if err != nil {
		d.Close()
		return err
	}
	defer st.Close()
	log.Info("counterd starting", "version", buildinfo.String(), "redis", redact(cfg.Redis),
		"master", redact(cfg.Master), "auth_mode", cfg.AuthMode, "max_staleness", cfg.MaxStaleness)
	s := NewServer(cfg, Deps{Store: st, Hub: hub, Metrics: metrics, Logger: log, Now: time.Now})
	return d.Serve(ctx, s)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redact hides a password in a Redis URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
