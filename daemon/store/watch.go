package store

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/redisinfo"
)

// snapshot is what Value returns; replaced whole so readers never lock.
type snapshot struct {
	value     int64
	confirmed time.Time
}

// held is the in-memory counter, fed by the subscriber and the poller.
type held struct {
	snap atomic.Pointer[snapshot]

	mu        sync.Mutex
	pubSeq    uint64        // count of PUBLISH messages applied
	current   chan struct{} // closed once a value is first confirmed (see WaitCurrent)
	closedCur bool
}

// Value returns the counter and when the local node was last known to be in
// step with the master. It does no I/O. confirmed is zero until the first
// read (and, on a replica, until its master link has been seen up).
func (s *Store) Value() (v int64, confirmed time.Time) {
	if p := s.held.snap.Load(); p != nil {
		return p.value, p.confirmed
	}
	return 0, time.Time{}
}

// Ready reports whether the value has been read from Redis at least once.
func (s *Store) Ready() bool { return s.held.snap.Load() != nil }

// WaitCurrent waits until Value has a confirmed value or ctx ends, and says
// which. counterd waits briefly for it before serving, so the first visitors
// after a start get the page, not "catching up".
func (s *Store) WaitCurrent(ctx context.Context) bool {
	select {
	case <-s.held.current:
		return true
	case <-ctx.Done():
		return false
	}
}

// applyPublished takes a value from the channel. The counter only grows, so
// an older message arriving after a newer poll is ignored. A message proves
// the local node just heard from the master, so confirmed advances too.
func (s *Store) applyPublished(v int64) {
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	s.held.pubSeq++
	old := s.held.snap.Load()
	next := snapshot{value: v, confirmed: s.o.Now()}
	if old != nil {
		next.value = max(old.value, v)
		if old.confirmed.After(next.confirmed) {
			next.confirmed = old.confirmed
		}
	}
	s.store(old, next)
}

// applyPolled takes a value read by GET. It is authoritative (it may also go
// down, after an admin reset) unless a message arrived while it was read:
// then the message may be newer and only a larger value is taken.
// A zero confirmed leaves the confirmed time as it was.
func (s *Store) applyPolled(v int64, confirmed time.Time, seqAtStart uint64) {
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	old := s.held.snap.Load()
	next := snapshot{value: v, confirmed: confirmed}
	if old != nil {
		if s.held.pubSeq != seqAtStart {
			next.value = max(old.value, v)
		}
		if old.confirmed.After(next.confirmed) {
			next.confirmed = old.confirmed
		}
	}
	s.store(old, next)
}

func (s *Store) pubSeq() uint64 {
	s.held.mu.Lock()
	defer s.held.mu.Unlock()
	return s.held.pubSeq
}

// store publishes next; called with held.mu held.
func (s *Store) store(old *snapshot, next snapshot) {
	s.held.snap.Store(&next)
	if !s.held.closedCur && !next.confirmed.IsZero() {
		s.held.closedCur = true
		close(s.held.current)
	}
	if old == nil || old.value != next.value {
		select {
		case s.kick <- struct{}{}:
		default: // the notifier is already due to look
		}
	}
}

// notify calls OnChange from this one goroutine, always with the latest value.
func (s *Store) notify(ctx context.Context) {
	defer s.wg.Done()
	var last int64
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		v, _ := s.Value()
		if (first || v != last) && s.o.OnChange != nil {
			s.o.OnChange(v)
		}
		last, first = v, false
	}
}

// poll re-reads the value every PollInterval, and at once when the
// subscriber (re)connects, since messages may have been missed meanwhile.
func (s *Store) poll(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.o.PollInterval)
	defer t.Stop()
	var down outage
	for {
		info, err := s.pollOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		s.checkMaster(ctx, info)
		if err != nil {
			s.redisError("poll", err)
		}
		down.report(s, "local redis poll", err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pollNow:
		}
	}
}

// pollOnce reads the value and the replication state in one round trip; it
// returns the local node's INFO replication, nil on error.
func (s *Store) pollOnce(ctx context.Context) (redisinfo.Fields, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	seq := s.pubSeq()
	start := s.o.Now()
	var get *redis.StringCmd
	var info *redis.StringCmd
	_, err := s.local.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, s.ValueKey())
		info = p.Info(ctx, "replication")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	if err := info.Err(); err != nil {
		return nil, err
	}
	v, err := get.Int64()
	if errors.Is(err, redis.Nil) {
		v, err = 0, nil // no press yet
	}
	if err != nil {
		return nil, err
	}
	f := redisinfo.Parse(info.Val())
	s.polls.Add(1)
	if neverSynced(f) {
		// Its data are a snapshot of unknown age (a restart reloads the RDB
		// of its last full sync; a demoted master holds writes the new master
		// may not have): lower than what this or another node served, maybe.
		// Keep what is held (or nothing) until the sync is done.
		return f, nil
	}
	s.applyPolled(v, confirmedAt(f, start), seq)
	return f, nil
}

// neverSynced reports a replica that has not completed a sync with a master
// since its Redis started (or since it became a replica): the link is not
// up and Redis says it never was (master_link_down_since_seconds:-1, which
// Redis 7 reports until the first sync completes, and counts from the loss
// of the link after that).
func neverSynced(f redisinfo.Fields) bool {
	if f["role"] != "slave" || f["master_link_status"] == "up" {
		return false
	}
	since, ok := f.Int("master_link_down_since_seconds")
	return !ok || since < 0
}

// confirmedAt says up to when a node answering INFO replication at polled
// was in step with its master: polled itself for a master, the replica's
// last contact with its master otherwise, and zero (no news) when the
// replica's link is down. master_last_io_seconds_ago counts whole seconds and
// the master pings replicas only every repl-ping-replica-period (10 s by
// default), so set that to 1 on the master for a tight confirmed time.
func confirmedAt(f redisinfo.Fields, polled time.Time) time.Time {
	switch f["role"] {
	case "master":
		return polled
	case "slave":
	default:
		return time.Time{}
	}
	if f["master_link_status"] != "up" {
		return time.Time{}
	}
	ago, err := strconv.Atoi(f["master_last_io_seconds_ago"])
	if err != nil || ago < 0 {
		return time.Time{}
	}
	return polled.Add(-time.Duration(ago) * time.Second)
}

// subscribe follows the counter's channel on the local node. go-redis
// reconnects and resubscribes after errors; each (re)subscription triggers a
// poll to pick up what was published while the connection was down.
func (s *Store) subscribe(ctx context.Context) {
	defer s.wg.Done()
	// Ping this often on a quiet channel, to notice dead connections.
	const idle = 5 * time.Second
	var mu sync.Mutex // guards ps against the AfterFunc below
	ps := s.local.Subscribe(ctx, s.Channel())
	closePS := func() {
		mu.Lock()
		defer mu.Unlock()
		_ = ps.Close()
	}
	renew := func() {
		mu.Lock()
		defer mu.Unlock()
		_ = ps.Close()
		if ctx.Err() == nil { // else the AfterFunc below has run: no new PubSub to leak
			ps = s.local.Subscribe(ctx, s.Channel())
		}
	}
	// A blocked receive does not watch ctx; closing the PubSub ends it at once.
	stop := context.AfterFunc(ctx, closePS)
	defer stop()
	defer closePS()
	var down outage
	lastHeard := time.Now()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, idle)
		if ctx.Err() != nil {
			return
		}
		var nerr net.Error
		switch {
		case err != nil && errors.As(err, &nerr) && nerr.Timeout():
			if time.Since(lastHeard) > 3*idle {
				// Pings went unanswered: the connection is dead without an
				// error (a lost peer). Start over with a fresh one.
				renew()
				lastHeard = time.Now()
				continue
			}
			_ = ps.Ping(ctx)
			continue
		case err != nil:
			s.redisError("subscribe", err)
			down.report(s, "local redis subscription", err)
			select { // go-redis redials on the next receive; don't spin while Redis is down
			case <-ctx.Done():
			case <-time.After(max(s.o.PollInterval, 100*time.Millisecond)):
			}
			continue
		}
		lastHeard = time.Now()
		switch m := msg.(type) {
		case *redis.Subscription:
			down.report(s, "local redis subscription", nil)
			select {
			case s.pollNow <- struct{}{}:
			default:
			}
		case *redis.Message:
			if v, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				s.applyPublished(v)
			} else {
				s.log.Warn("ignoring malformed counter message", "channel", m.Channel, "err", err)
			}
		}
	}
}

// outage logs the start and end of a run of failures, not every failure.
type outage struct{ since time.Time }

func (o *outage) report(s *Store, what string, err error) {
	switch {
	case err != nil && o.since.IsZero():
		o.since = time.Now()
		s.log.Warn(what+" failing", "err", err)
	case err == nil && !o.since.IsZero():
		s.log.Info(what+" recovered", "after", time.Since(o.since).Round(time.Millisecond))
		o.since = time.Time{}
	}
}
