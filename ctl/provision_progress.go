//go:build !node

package ctl

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// progressHandler turns the runner's per-step log records into one plain
// line per node and step as they finish, which reads the same on a
// terminal, in CI logs and piped to a file:
//
//	master   redis                    changed   1.2s
type progressHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func newProgressHandler(w io.Writer) *progressHandler {
	return &progressHandler{mu: &sync.Mutex{}, w: w}
}

func (h *progressHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *progressHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *progressHandler) WithGroup(string) slog.Handler { return h }

func (h *progressHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "step" {
		return nil
	}
	var node, step, status, errText string
	var took time.Duration
	visit := func(a slog.Attr) bool {
		switch a.Key {
		case "host":
			node = a.Value.String()
		case "step":
			step = a.Value.String()
		case "status":
			status = a.Value.String()
		case "took":
			took = a.Value.Duration()
		case "err":
			if a.Value.Any() != nil {
				errText = a.Value.String()
			}
		}
		return true
	}
	for _, a := range h.attrs {
		visit(a)
	}
	r.Attrs(visit)
	line := fmt.Sprintf("%-8s %-24s %-8s %s", node, step, status, took.Round(100*time.Millisecond))
	if errText != "" {
		line += ": " + errText
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, line)
	return err
}
