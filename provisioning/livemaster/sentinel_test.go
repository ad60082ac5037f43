package livemaster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/livemaster"
)

const masterName = "counter"

func sentinels(ss ...*redistest.Sentinel) livemaster.Sentinels {
	s := livemaster.Sentinels{Ask: livemaster.AskRedis(masterName, redis.Options{DialTimeout: time.Second, ReadTimeout: time.Second})}
	for _, x := range ss {
		s.Addrs = append(s.Addrs, x.Addr())
	}
	return s
}

func (c *cluster) decideWith(t *testing.T, s livemaster.Sentinels) (livemaster.Decision, error) {
	t.Helper()
	return livemaster.DecideWithSentinels(t.Context(), s, c.nodes, c.nodes[0].Node, c.query)
}

// TestDecideWithSentinels runs real redis-sentinels on loopback.
func TestDecideWithSentinels(t *testing.T) {
	t.Run("the majority's view, also after they fail over", func(t *testing.T) {
		c := newCluster(t, 3)
		c.follow("m", "mirror", "repa")
		s := sentinels(
			redistest.StartSentinel(t, c.srv["m"], masterName, 2),
			redistest.StartSentinel(t, c.srv["m"], masterName, 2),
			redistest.StartSentinel(t, c.srv["m"], masterName, 2))
		d, err := c.decideWith(t, s)
		if err != nil || d.Master.Name != "m" || d.Source != livemaster.FromSentinels {
			t.Fatalf("DecideWithSentinels = %s from %s, %v; want m from sentinels", d.Master.Name, d.Source, err)
		}
		c.srv["m"].Stop()
		testutil.Poll(t, 30*time.Second, "sentinels promote a replica of the stopped m", func(context.Context) error {
			d, err = c.decideWith(t, s)
			if err != nil {
				return err
			}
			if d.Source != livemaster.FromSentinels || d.Master.Name == "m" {
				return errors.New(d.Master.Name + " from " + string(d.Source) + ": " + d.Why)
			}
			return nil
		})
		if d.Master.Name != "mirror" && d.Master.Name != "repa" {
			t.Errorf("after the failover the sentinels name %s, want mirror or repa", d.Master.Name)
		}
	})
	t.Run("no majority: an error naming each view", func(t *testing.T) {
		c := newCluster(t, 3)
		s := sentinels(
			redistest.StartSentinel(t, c.srv["m"], masterName, 1),
			redistest.StartSentinel(t, c.srv["mirror"], masterName, 1),
			redistest.StartSentinel(t, c.srv["repa"], masterName, 1))
		_, err := c.decideWith(t, s)
		if !errors.Is(err, livemaster.ErrDisagree) || !strings.Contains(err.Error(), "no majority of 3 sentinels") ||
			!strings.Contains(err.Error(), s.Addrs[1]+" says "+c.srv["mirror"].Addr()) {
			t.Fatalf("DecideWithSentinels error = %v, want ErrDisagree naming each sentinel's view", err)
		}
	})
	t.Run("no sentinel answers: the nodes decide", func(t *testing.T) {
		c := newCluster(t, 2)
		c.srv["m"].ReplicaOf(c.srv["mirror"])
		gone := redistest.StartSentinel(t, c.srv["mirror"], masterName, 1)
		s := sentinels(gone)
		gone.Stop()
		d, err := c.decideWith(t, s)
		if err != nil || d.Master.Name != "mirror" || d.Source != livemaster.FromNodes || !strings.Contains(d.Why, "no sentinel answered") {
			t.Fatalf("DecideWithSentinels = %s from %s (%s), %v; want mirror from nodes, saying no sentinel answered", d.Master.Name, d.Source, d.Why, err)
		}
	})
}
