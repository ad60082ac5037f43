package store

import (
	"context"
	"net"
	"time"

	"counter/internal/redisinfo"
)

// MasterDown is a replica's master that the sentinels see down: nobody can
// write, so a value that was fresh when the master was last seen alive is
// still the latest there is.
type MasterDown struct {
	Master    string    // host:port the local replica follows
	Votes, Of int       // sentinels seeing it down (or failing over), of those configured
	LastSeen  time.Time // the latest good reply one of them had from it
}

// MasterDown reports the local replica's master as down when, at the last
// poll, the replica had not heard from it for a second or more and a majority of the configured
// sentinels (not only of those that answered: a replica cut off with a
// minority must not excuse itself) named that same master and saw it down
// or in a failover. ok is false without sentinels, on a master, on a
// replica that hears from its master, and on a replica following another
// master than the one the sentinels name (an old master after a failover).
// Whether the value was fresh at LastSeen is the caller's judgement.
func (s *Store) MasterDown() (MasterDown, bool) {
	if d := s.down.Load(); d != nil {
		return *d, true
	}
	return MasterDown{}, false
}

// checkMaster updates MasterDown from the poll's INFO replication (nil when
// the local node did not answer).
func (s *Store) checkMaster(ctx context.Context, f redisinfo.Fields) {
	if s.sent == nil {
		return
	}
	// A master that died silently leaves the link "up" until repl-timeout:
	// the replica not hearing from it (it pings every second) is the sign.
	if ago, ok := f.Int("master_last_io_seconds_ago"); f == nil || f["role"] != "slave" || (f.LinkUp() && ok && ago < 2) {
		s.down.Store(nil)
		return
	}
	master := net.JoinHostPort(f["master_host"], f["master_port"])
	asked := s.o.Now()
	votes, lastOKAgo := s.sent.votesDown(ctx, master)
	if votes <= len(s.sent.clients)/2 {
		s.down.Store(nil)
		return
	}
	s.down.Store(&MasterDown{Master: master, Votes: votes, Of: len(s.sent.clients), LastSeen: asked.Add(-lastOKAgo)})
}
