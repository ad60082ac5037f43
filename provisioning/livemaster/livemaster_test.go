package livemaster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"counter/internal/redisinfo"
	"counter/internal/redistest"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
)

// cluster is real redis-servers standing for inventory nodes, in order:
// master, mirror, then replicas.
type cluster struct {
	nodes []livemaster.Node
	srv   map[string]*redistest.Server
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	c := &cluster{srv: map[string]*redistest.Server{}}
	for i := range n {
		name, role := "rep"+string(rune('a'+i-2)), inventory.RoleReplica
		switch i {
		case 0:
			name, role = "m", inventory.RoleMaster
		case 1:
			name, role = "mirror", inventory.RoleMirror
		}
		s := redistest.Start(t)
		c.srv[name] = s
		c.nodes = append(c.nodes, livemaster.Node{
			Node:  inventory.Node{Name: name, Role: role, Address: "127.0.0.1"},
			Addrs: []string{s.Addr()},
		})
	}
	return c
}

func (c *cluster) query(ctx context.Context, n inventory.Node) (redisinfo.Fields, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := c.srv[n.Name].Client().Info(ctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	return redisinfo.Parse(info), nil
}

// follow makes each of replicas a replica of master, as provision would.
func (c *cluster) follow(master string, replicas ...string) {
	for _, r := range replicas {
		c.srv[r].ReplicaOf(c.srv[master])
	}
}

func (c *cluster) decide(t *testing.T) (livemaster.Decision, error) {
	t.Helper()
	return livemaster.Decide(context.Background(), c.nodes, c.nodes[0].Node, c.query)
}

func TestDecide(t *testing.T) {
	t.Run("never provisioned: the inventory", func(t *testing.T) {
		c := newCluster(t, 3)
		d, err := c.decide(t)
		if err != nil || d.Master.Name != "m" || d.Source != livemaster.FromInventory {
			t.Fatalf("Decide = %s from %s, %v; want m from inventory", d.Master.Name, d.Source, err)
		}
	})
	t.Run("as provisioned", func(t *testing.T) {
		c := newCluster(t, 3)
		c.follow("m", "mirror", "repa")
		d, err := c.decide(t)
		if err != nil || d.Master.Name != "m" || d.Source != livemaster.FromNodes {
			t.Fatalf("Decide = %s from %s, %v; want m from nodes", d.Master.Name, d.Source, err)
		}
	})
	t.Run("after a switchover to the mirror", func(t *testing.T) {
		c := newCluster(t, 3)
		c.follow("m", "mirror", "repa")
		c.srv["mirror"].Do("REPLICAOF", "NO", "ONE")
		c.follow("mirror", "m", "repa")
		d, err := c.decide(t)
		if err != nil || d.Master.Name != "mirror" || d.Source != livemaster.FromNodes {
			t.Fatalf("Decide = %s from %s, %v; want mirror from nodes", d.Master.Name, d.Source, err)
		}
		if !strings.Contains(d.Why, "followed by m, repa") {
			t.Errorf("Why = %q, want it to name the followers m, repa", d.Why)
		}
	})
	t.Run("master dead: its replicas still name it", func(t *testing.T) {
		c := newCluster(t, 3)
		c.follow("m", "mirror", "repa")
		c.srv["m"].Stop()
		d, err := c.decide(t)
		if err != nil || d.Master.Name != "m" || d.Unreachable["m"] == nil {
			t.Fatalf("Decide = %s, unreachable %v, %v; want m, unreachable", d.Master.Name, d.Unreachable, err)
		}
	})
	t.Run("two masters with replicas: an error naming both", func(t *testing.T) {
		c := newCluster(t, 4)
		c.srv["repa"].ReplicaOf(c.srv["m"])
		c.srv["repb"].ReplicaOf(c.srv["mirror"])
		_, err := c.decide(t)
		if !errors.Is(err, livemaster.ErrDisagree) ||
			!strings.Contains(err.Error(), "m is master followed by repa") ||
			!strings.Contains(err.Error(), "mirror is master followed by repb") {
			t.Fatalf("Decide error = %v, want ErrDisagree naming m and mirror with their replicas", err)
		}
	})
	t.Run("old master back alone: an error, not a guess", func(t *testing.T) {
		c := newCluster(t, 3)
		c.follow("m", "mirror", "repa")
		c.srv["mirror"].Do("REPLICAOF", "NO", "ONE")
		c.srv["repa"].ReplicaOf(c.srv["mirror"])
		_, err := c.decide(t)
		if !errors.Is(err, livemaster.ErrDisagree) || !strings.Contains(err.Error(), "m (role: master in the inventory) is a master without replicas") {
			t.Fatalf("Decide error = %v, want ErrDisagree naming the lone old master m", err)
		}
	})
	t.Run("a replica of a stranger: an error", func(t *testing.T) {
		c := newCluster(t, 2)
		other := redistest.Start(t)
		c.srv["mirror"].ReplicaOf(other)
		_, err := c.decide(t)
		if !errors.Is(err, livemaster.ErrDisagree) || !strings.Contains(err.Error(), "mirror follows "+other.Addr()) {
			t.Fatalf("Decide error = %v, want ErrDisagree: mirror follows %s", err, other.Addr())
		}
	})
}
