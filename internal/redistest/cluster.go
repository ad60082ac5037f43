package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"counter/internal/testutil"
)

// Cluster is a master, its replicas and three Sentinels (quorum 2)
// monitoring it, as the provisioned cluster runs them, on loopback.
type Cluster struct {
	Name      string // the master name the Sentinels know
	Master    *Server
	Replicas  []*Server
	Sentinels []*Sentinel
}

// ClusterConfig shapes StartCluster.
type ClusterConfig struct {
	Name       string        // the master name; default "counter"
	Priorities []int         // one replica each, with this replica-priority (lowest non-zero is promoted first; 0 never)
	DownAfter  time.Duration // Sentinel's down-after-milliseconds; default 1s (the loopback anchor)
	// SentinelConf is appended to each sentinel.conf, e.g. an ACL "user" line.
	SentinelConf string
}

// StartCluster starts a master and the replicas of cc, then three Sentinels
// (quorum 2), and waits until every Sentinel knows every replica
// and the other Sentinels, so a failover can happen. opts apply to every
// server (WithCA and WithPassword also secure the Sentinels).
func StartCluster(tb testing.TB, cc ClusterConfig, opts ...Option) *Cluster {
	tb.Helper()
	if cc.Name == "" {
		cc.Name = "counter"
	}
	if cc.DownAfter == 0 {
		cc.DownAfter = time.Second
	}
	name, priorities := cc.Name, cc.Priorities
	start := func(priority int) *Server {
		// Masters ping replicas every second so replicas know their lag to the second.
		o := append([]Option{WithArgs("--repl-ping-replica-period", "1", "--replica-priority", strconv.Itoa(priority))}, opts...)
		return Start(tb, o...)
	}
	c := &Cluster{Name: name, Master: start(100)}
	for _, p := range priorities {
		r := start(p)
		r.ReplicaOf(c.Master)
		c.Replicas = append(c.Replicas, r)
	}
	for range 3 {
		c.Sentinels = append(c.Sentinels, startSentinel(tb, c.Master, name, 2, cc.DownAfter, cc.SentinelConf))
	}
	for _, s := range c.Sentinels {
		sc := s.Client()
		testutil.Poll(tb, 20*time.Second, fmt.Sprintf("redistest: sentinel %s knows %d replicas and 2 sentinels", s.Addr(), len(priorities)),
			func(ctx context.Context) error {
				rs, err := sc.Replicas(ctx, name).Result()
				if err != nil {
					return err
				}
				ss, err := sc.Sentinels(ctx, name).Result()
				if err != nil {
					return err
				}
				if len(rs) != len(priorities) || len(ss) != 2 {
					return fmt.Errorf("%d replicas, %d other sentinels", len(rs), len(ss))
				}
				return nil
			})
		_ = sc.Close()
	}
	return c
}

// SentinelAddrs are host:port of the Sentinels.
func (c *Cluster) SentinelAddrs() []string {
	var out []string
	for _, s := range c.Sentinels {
		out = append(out, s.Addr())
	}
	return out
}

// Servers are the master and the replicas as started (roles change with failovers).
func (c *Cluster) Servers() []*Server { return append([]*Server{c.Master}, c.Replicas...) }

// WaitNewMaster waits until every Sentinel that answers names a master other
// than old, and that server says it is a master; it returns it.
func (c *Cluster) WaitNewMaster(tb testing.TB, old *Server, within time.Duration) *Server {
	tb.Helper()
	var got *Server
	testutil.Poll(tb, within, "redistest: the sentinels promote a replica", func(ctx context.Context) error {
		got = nil
		for _, s := range c.Sentinels {
			if s.Pid() == 0 {
				continue
			}
			sc := s.Client()
			addr, err := sc.GetMasterAddrByName(ctx, c.Name).Result()
			_ = sc.Close()
			if err != nil {
				return err
			}
			hp := net.JoinHostPort(addr[0], addr[1])
			if hp == old.Addr() {
				return fmt.Errorf("sentinel %s still names %s", s.Addr(), hp)
			}
			for _, srv := range c.Servers() {
				if srv.Addr() == hp {
					if got != nil && got != srv {
						return fmt.Errorf("sentinels disagree: %s and %s", got.Addr(), hp)
					}
					got = srv
				}
			}
		}
		if got == nil {
			return fmt.Errorf("no sentinel names a known server")
		}
		cl := got.newClient()
		defer cl.Close()
		role, err := cl.Do(ctx, "ROLE").Slice()
		if err != nil {
			return err
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("%s is %v, not yet master", got.Addr(), role)
		}
		return nil
	})
	return got
}
