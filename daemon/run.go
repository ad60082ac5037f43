package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/daemon/store"
	"counter/internal/buildinfo"
)

// storeCloseWithin bounds how long shutdown waits for the Redis connections to close.
const storeCloseWithin = 2 * time.Second

// Run is counterd's main: parse configuration from args and getenv, serve until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stdout)
	switch {
	case errors.Is(err, errHelp):
		return nil
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, "counterd", buildinfo.String())
		return nil
	case errors.Is(err, errChecked):
		fmt.Fprintln(stdout, "counterd: configuration ok")
		return nil
	case err != nil:
		return err
	}
	log := newLogger(cfg, stderr)
	// go-redis has one process-wide logger that prints every failed dial to
	// stderr; the store logs each outage once, so send go-redis's to debug.
	redis.SetLogger(store.RedisLogger{Logger: log})
	r, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	return r.Wait()
}

// Running is a started counterd: listeners, Redis store and HTTP servers.
type Running struct {
	d    *Daemon
	srv  *Server
	done chan error
}

// Start listens (so a bad address fails at once), connects the store and serves in
// the background until ctx ends. Tests and benchmarks start it on 127.0.0.1:0.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Running, error) {
	d, err := Listen(cfg, log)
	if err != nil {
		return nil, err
	}
	hub, metrics := NewHub(), NewMetrics()
	st, err := openStore(ctx, cfg, log, hub, metrics)
	if err != nil {
		d.Close()
		return nil, err
	}
	// Connections that arrive meanwhile wait in the listener's backlog: for a
	// moment after a start they get the page a little late, not "catching up".
	// A replica still syncing, or a Redis that is down, is not waited for.
	wctx, cancel := context.WithTimeout(ctx, cfg.RedisTimeout+pollInterval(cfg.MaxStaleness))
	if !st.WaitCurrent(wctx) {
		log.Warn("serving before a value is confirmed by redis: pages and /getvalue answer 503 catching up until it is")
	}
	cancel()
	log.Info("counterd starting", "version", buildinfo.String(), "redis", redact(cfg.Redis),
		"master", redact(cfg.Master), "sentinels", cfg.Sentinels, "master_name", cfg.MasterName, "auth_mode", cfg.AuthMode, "max_staleness", cfg.MaxStaleness)
	r := &Running{d: d, done: make(chan error, 1),
		srv: NewServer(cfg, Deps{Store: st, Hub: hub, Metrics: metrics, Logger: log, Now: time.Now})}
	go func() {
		err := d.Serve(ctx, r.srv)
		closed := make(chan error, 1)
		go func() { closed <- st.Close() }()
		select {
		case cerr := <-closed:
			err = errors.Join(err, cerr)
		case <-time.After(storeCloseWithin):
			log.Warn("redis connections did not close in time, leaving them", "waited", storeCloseWithin)
		}
		r.done <- err
	}()
	return r, nil
}

// Addr is the address the main listener took.
func (r *Running) Addr() net.Addr { return r.d.Addr() }

// URL is the address to browse to.
func (r *Running) URL() string { return r.d.URL() }

// Server is the HTTP handler being served.
func (r *Running) Server() *Server { return r.srv }

// Wait blocks until the daemon has drained after its context ended.
func (r *Running) Wait() error { return <-r.done }

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
