package daemon

import (
	"sync"
	"time"
)

// throttle limits attempts per key (a login, a client address) with a sliding
// window approximated from two fixed windows. Memory is bounded: at most maxKeys
// keys per window; when the current window is full, new keys are refused until it
// rotates (an attacker spraying keys locks out new keys for at most one window,
// never bypasses the limit).
type throttle struct {
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu        sync.Mutex
	start     time.Time // of the current window
	cur, prev map[string]int
}

func newThrottle(limit int, window time.Duration, maxKeys int, now func() time.Time) *throttle {
	return &throttle{limit: limit, window: window, maxKeys: maxKeys, now: now,
		cur: map[string]int{}, prev: map[string]int{}}
}

// allow counts an attempt for key; if over the limit it returns how long to wait.
func (t *throttle) allow(key string) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	switch elapsed := now.Sub(t.start); {
	case elapsed >= 2*t.window:
		t.start, t.prev, t.cur = now.Truncate(t.window), map[string]int{}, map[string]int{}
	case elapsed >= t.window:
		t.start, t.prev, t.cur = t.start.Add(t.window), t.cur, map[string]int{}
	}
	left := t.window - now.Sub(t.start)
	n, seen := t.cur[key]
	// The previous window's attempts count for the part of it still inside the sliding window.
	weighted := n + int(float64(t.prev[key])*float64(left)/float64(t.window))
	if weighted >= t.limit {
		return false, left
	}
	if !seen && len(t.cur) >= t.maxKeys {
		return false, left
	}
	t.cur[key] = n + 1
	return true, 0
}
