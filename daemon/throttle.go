package daemon

import (
	"container/list"
	"sync"
	"time"
)

// throttle counts attempts per key (a login, a client address, a pair) in a
// sliding window approximated from two fixed windows per key. Memory is
// bounded: it holds at most maxKeys keys and, when full, forgets the least
// recently used one. A full table never refuses anyone: an attacker who sprays
// keys only pushes out keys idle longer than their own (issue 13: refusing new
// keys when full let 100,000 sprayed keys lock every new login out).
type throttle struct {
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // of *attempts
	lru  list.List                // front: most recently used
}

// attempts is one key's counts in its current and previous fixed window.
type attempts struct {
	key       string
	start     time.Time // of the current window, a multiple of window
	cur, prev int
}

func newThrottle(limit int, window time.Duration, maxKeys int, now func() time.Time) *throttle {
	return &throttle{limit: limit, window: window, maxKeys: maxKeys, now: now,
		keys: map[string]*list.Element{}}
}

// allow counts an attempt for key unless the key is over the limit; then it
// returns how long to wait, and the refused attempt is not counted.
func (t *throttle) allow(key string) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, weighted, left := t.get(key)
	if weighted >= t.limit {
		return false, left
	}
	a.cur++
	return true, 0
}

// add counts an attempt for key and returns how many came before it in the
// sliding window: the per-login throttle slows by it and never refuses.
func (t *throttle) add(key string) (before int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, weighted, _ := t.get(key)
	a.cur++
	return weighted
}

// get finds or makes key's entry, rotated to now, with its weighted count and
// the time left in its current window. Callers hold mu.
func (t *throttle) get(key string) (a *attempts, weighted int, left time.Duration) {
	now := t.now()
	if e, ok := t.keys[key]; ok {
		t.lru.MoveToFront(e)
		a = e.Value.(*attempts)
	} else {
		if len(t.keys) >= t.maxKeys {
			oldest := t.lru.Back()
			delete(t.keys, oldest.Value.(*attempts).key)
			t.lru.Remove(oldest)
		}
		a = &attempts{key: key, start: now.Truncate(t.window)}
		t.keys[key] = t.lru.PushFront(a)
	}
	switch elapsed := now.Sub(a.start); {
	case elapsed >= 2*t.window:
		a.start, a.prev, a.cur = now.Truncate(t.window), 0, 0
	case elapsed >= t.window:
		a.start, a.prev, a.cur = a.start.Add(t.window), a.cur, 0
	}
	left = t.window - now.Sub(a.start)
	// The previous window's attempts count for the part of it still inside the sliding window.
	weighted = a.cur + int(float64(a.prev)*float64(left)/float64(t.window))
	return a, weighted, left
}

// len is the number of keys held.
func (t *throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}
