package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A logout is a DEL on the master. When the master does not take it (down,
// frozen, demoted), the session is remembered here: refused on this node at
// once and deleted on the master by endSessions once it answers, so a logout
// during an outage does not leave the session valid after recovery.
//
// The queue is in memory: a counterd restart forgets it, and those sessions
// then end by their TTL (Options.SessionTTL), as they would anyway.
const (
	maxPendingEnds   = 10_000      // about 1 MB; beyond it the oldest is left to its TTL
	endRetryInterval = time.Second // between attempts while the master does not answer
	endBatch         = 500         // session keys per DEL
)

// sessionEnds is the set of session keys whose logout the master has not taken.
type sessionEnds struct {
	mu   sync.Mutex
	max  int
	keys map[string]time.Time // session key -> when the logout was asked
}

func newSessionEnds(max int) *sessionEnds {
	return &sessionEnds{max: max, keys: make(map[string]time.Time)}
}

// add queues key; it reports whether the oldest entry was dropped to make room.
func (e *sessionEnds) add(key string, at time.Time) (evicted bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.keys[key]; !ok && len(e.keys) >= e.max {
		// A full scan, but only when the queue is full: 10,000 entries, rare.
		var oldest string
		var oldestAt time.Time
		for k, t := range e.keys {
			if oldest == "" || t.Before(oldestAt) {
				oldest, oldestAt = k, t
			}
		}
		delete(e.keys, oldest)
		evicted = true
	}
	e.keys[key] = at
	return evicted
}

func (e *sessionEnds) has(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.keys[key]
	return ok
}

func (e *sessionEnds) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.keys)
}

// batch returns up to n queued keys, first dropping those asked before
// expired: their sessions have outlived the TTL, so Redis has removed them.
func (e *sessionEnds) batch(expired time.Time, n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for k, t := range e.keys {
		if t.Before(expired) {
			delete(e.keys, k)
			continue
		}
		if len(out) < n {
			out = append(out, k)
		}
	}
	return out
}

func (e *sessionEnds) remove(keys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range keys {
		delete(e.keys, k)
	}
}

// DeleteSession ends the session with token (logout) on the master. When the
// master does not take the DEL, the session is refused on this node at once
// and deleted once the master answers: ErrSessionEndQueued.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	key := s.SessionKey(token)
	dctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	err := s.master.Del(dctx, key).Err()
	if err == nil {
		return nil
	}
	s.redisError("delete session", err)
	// Queued whatever the failure: a DEL that timed out may or may not have
	// run, and running it twice is harmless.
	if s.ends.add(key, s.o.Now()) {
		s.log.Warn("too many logouts waiting for the master: the oldest session is left to expire by its TTL",
			"max", maxPendingEnds, "ttl", s.o.SessionTTL)
	}
	return fmt.Errorf("delete session: %w: %w", ErrSessionEndQueued, err)
}

// endSessions deletes the queued sessions on the master, retrying every
// endRetryInterval until it answers, until Close.
func (s *Store) endSessions(ctx context.Context) {
	defer s.wg.Done()
	tick := time.NewTicker(endRetryInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if n := s.ends.len(); n > 0 {
				s.log.Warn("stopping with logouts the master has not taken: those sessions end by their TTL",
					"sessions", n, "ttl", s.o.SessionTTL)
			}
			return
		case <-tick.C:
		}
		for s.flushEnds(ctx) {
		}
	}
}

// flushEnds deletes one batch of queued sessions; it reports whether a full
// batch went, so more may be waiting.
func (s *Store) flushEnds(ctx context.Context) bool {
	keys := s.ends.batch(s.o.Now().Add(-s.o.SessionTTL), endBatch)
	if len(keys) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	if err := s.master.Del(ctx, keys...).Err(); err != nil {
		s.redisError("end sessions", err)
		return false
	}
	s.ends.remove(keys)
	s.log.Info("ended sessions logged out while the master did not answer", "sessions", len(keys))
	return len(keys) == endBatch
}
