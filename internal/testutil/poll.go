package testutil

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// pollEvery is how often Wait asks again: an interval, not synchronisation.
const pollEvery = 20 * time.Millisecond

// stopped marks an error after which waiting longer cannot help.
type stopped struct{ err error }

func (s stopped) Error() string { return s.err.Error() }
func (s stopped) Unwrap() error { return s.err }

// Stop wraps err so that Wait and Poll give up at once, e.g. when the
// process whose answer they wait for has exited.
func Stop(err error) error { return stopped{err} }

// Wait calls cond until it returns nil, every 20 ms, and returns nil then.
// When within has passed, or cond returned an error made by Stop, it returns
// cond's last error. cond's context ends at the deadline.
func Wait(within time.Duration, cond func(ctx context.Context) error) error {
	return WaitEvery(within, pollEvery, cond)
}

// WaitEvery is Wait asking only every so often, for a cond that is costly
// (a command run in the lab, a health check over SSH).
func WaitEvery(within, every time.Duration, cond func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		var s stopped
		if errors.As(err, &s) {
			return s.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not within %s: %w", within, err)
		case <-tick.C:
		}
	}
}

// Poll is Wait that fails tb, naming what it waited for, when cond does not
// come true in time.
func Poll(tb testing.TB, within time.Duration, what string, cond func(ctx context.Context) error) {
	tb.Helper()
	if err := Wait(within, cond); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// Eventually is Poll for a condition that has no reason to report.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	Poll(tb, within, what, func(context.Context) error {
		if !cond() {
			return errors.New("condition false")
		}
		return nil
	})
}
