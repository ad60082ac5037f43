package store

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// promotionRefresh is how often the store asks the sentinels which replica
// they would promote first. A failover changes the answer: a press that
// finds none of those replicas attached to the master asks again at once
// (at most every promotionRecheck); until then presses are answered "not
// known yet", never a false success.
const (
	promotionRefresh = time.Second
	promotionRecheck = 100 * time.Millisecond
)

// sentinels are the store's own clients of the Sentinels (the failover
// client keeps its own): they tell which replica would be promoted first,
// and whether the master a replica lost is down in their eyes.
type sentinels struct {
	name    string
	clients []*redis.SentinelClient
	timeout time.Duration
	first   atomic.Pointer[promotion] // nil until a sentinel answered
	recheck chan struct{}             // a press asks for a refresh now
}

// promotion is the sentinels' promotion order as far as the store needs it.
type promotion struct {
	addrs    []string // ip:port of the healthy replicas with the lowest non-zero replica-priority
	priority int      // that priority; 0 when no replica can be promoted
}

// masterMinIdle is how many connections to the master the failover client
// keeps open and idle, dialled in the background. A press must fit in the
// store's Timeout; a new connection to the master costs TCP, TLS and HELLO,
// three round trips, which across an ocean (290 ms from oceania to eu) leave
// no time for the press itself. Without idle connections, after a failover
// every press on a far node dialled the new master inside its own deadline,
// timed out, and so closed the connection it had just opened: oceania
// answered "not known yet" for 35 s after the other nodes pressed again
// (docs/chaos.md, scenario 1, 2026-12-02 09:55).
const masterMinIdle = 3

// failoverOptions are the options of the failover client that writes go
// through: the local node's user, password, TLS material and timeouts, for
// the master and for the sentinels alike; and masterMinIdle.
func failoverOptions(local *redis.Options, o Options) *redis.FailoverOptions {
	return &redis.FailoverOptions{
		MasterName:            o.MasterName,
		SentinelAddrs:         o.Sentinels,
		ClientName:            local.ClientName,
		SentinelUsername:      local.Username,
		SentinelPassword:      local.Password,
		Username:              local.Username,
		Password:              local.Password,
		DB:                    local.DB,
		MaxRetries:            local.MaxRetries,
		DialTimeout:           local.DialTimeout,
		DialerRetries:         local.DialerRetries,
		ReadTimeout:           local.ReadTimeout,
		WriteTimeout:          local.WriteTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              local.PoolSize,
		PoolTimeout:           local.PoolTimeout,
		MinIdleConns:          min(max(local.MinIdleConns, masterMinIdle), local.PoolSize),
		PipelinePoolSize:      -1,
		TLSConfig:             anyHostTLS(local.TLSConfig),
		DisableIdentity:       true,
	}
}

// anyHostTLS is the local node's TLS configuration for other hosts: the
// server name is then taken from each address dialled (the master and the
// sentinels move, their certificates name their own addresses).
func anyHostTLS(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	c.ServerName = ""
	return c
}

func newSentinels(local *redis.Options, o Options) *sentinels {
	s := &sentinels{name: o.MasterName, timeout: o.Timeout, recheck: make(chan struct{}, 1)}
	for _, addr := range o.Sentinels {
		s.clients = append(s.clients, redis.NewSentinelClient(&redis.Options{
			Addr: addr, Username: local.Username, Password: local.Password,
			TLSConfig:   anyHostTLS(local.TLSConfig),
			DialTimeout: o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
			ContextTimeoutEnabled: true, MaxRetries: -1, PoolSize: 2,
			ClientName: local.ClientName, DisableIdentity: true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}))
	}
	return s
}

func (s *sentinels) close() error {
	var errs []error
	for _, c := range s.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// watchPromotion keeps sentinels.first current.
func (s *Store) watchPromotion(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(promotionRefresh)
	defer t.Stop()
	var down outage
	for {
		err := s.sent.refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			s.redisError("sentinel replicas", err)
		}
		down.report(s, "asking the sentinels for the promotion order", err)
		select { // not more often than promotionRecheck
		case <-ctx.Done():
			return
		case <-time.After(promotionRecheck):
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.sent.recheck:
		}
	}
}

// askAgain wakes watchPromotion for a refresh now.
func (s *sentinels) askAgain() {
	select {
	case s.recheck <- struct{}{}:
	default:
	}
}

// refresh asks the sentinels in turn, until one answers, for the replicas
// of the master; the last known order stays when none answers.
func (s *sentinels) refresh(ctx context.Context) error {
	var errs []error
	for _, c := range s.clients {
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		reps, err := c.Replicas(cctx, s.name).Result()
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.first.Store(promotionFirst(reps))
		return nil
	}
	return errors.Join(errs...)
}

// promotionFirst picks, as Sentinel does before it looks at offsets, the
// healthy replicas with the lowest non-zero replica-priority. Sentinel then
// takes the one with the highest offset among them; offsets count the same
// stream, so any of them holding a write means the one promoted holds it.
//
// The replica a failover is promoting is skipped: it is the master already.
// The leader of a failover lists it among the dead master's replicas until
// every other replica follows it (3 s across the lab's WAN), and counterd
// next to that leader refused every press until then, waiting for the
// master to acknowledge its own write (chaos scenario 1, 14:19).
func promotionFirst(reps []map[string]string) *promotion {
	p := &promotion{}
	for _, r := range reps {
		if hasFlag(r["flags"], "s_down", "o_down", "disconnected", "promoted") {
			continue
		}
		prio, err := strconv.Atoi(r["slave-priority"])
		if err != nil || prio <= 0 || r["ip"] == "" || r["port"] == "" {
			continue
		}
		addr := net.JoinHostPort(r["ip"], r["port"])
		switch {
		case p.priority == 0 || prio < p.priority:
			p.priority, p.addrs = prio, []string{addr}
		case prio == p.priority:
			p.addrs = append(p.addrs, addr)
		}
	}
	slices.Sort(p.addrs)
	return p
}

// hasFlag reports whether the comma-separated Sentinel flags hold any of want.
func hasFlag(flags string, want ...string) bool {
	for f := range strings.SplitSeq(flags, ",") {
		if slices.Contains(want, f) {
			return true
		}
	}
	return false
}

// votesDown asks every sentinel at once about master (the host:port a
// replica follows) and counts those that name it and see it down or in a
// failover. lastOK is the latest moment one of them last had a good reply
// from it (Sentinel's last-ok-ping-reply), in ms before now.
func (s *sentinels) votesDown(ctx context.Context, master string) (votes int, lastOKAgo time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	lastOKAgo = -1
	for _, c := range s.clients {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, s.timeout)
			defer cancel()
			m, err := c.Master(cctx, s.name).Result()
			if err != nil || net.JoinHostPort(m["ip"], m["port"]) != master ||
				!hasFlag(m["flags"], "s_down", "o_down", "failover_in_progress") {
				return
			}
			ms, err := strconv.ParseInt(m["last-ok-ping-reply"], 10, 64)
			if err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			votes++
			if ago := time.Duration(ms) * time.Millisecond; lastOKAgo < 0 || ago < lastOKAgo {
				lastOKAgo = ago
			}
		})
	}
	wg.Wait()
	return votes, lastOKAgo
}
