// Package steps is what `counterctl provision` does on each node, one small
// phase.Step per file, each reading as intent through host.Host: ensure the
// OS and packages, install the counter package, configure Redis, wait for
// replication, configure Sentinel (after replication, so it finds the
// replicas following the master), configure counterd (which asks the
// sentinels for the master), apply the firewall, harden
// sshd, install the RAID check. Every step is idempotent: a second run
// reports ok.
package steps

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"time"

	"counter/internal/redisinfo"
	"counter/provisioning/dnswatch"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/phase"
	"counter/provisioning/pki"
	"counter/provisioning/redisconf"
)

// Deb is one built counter package for one architecture.
type Deb struct {
	Version  string // as dpkg-query reports it
	Arch     string
	FileName string
	Data     []byte
}

// PackageSource gives the counter .deb built for a node architecture
// (as `dpkg --print-architecture` says it).
type PackageSource interface {
	Package(ctx context.Context, arch string) (Deb, error)
}

// Redialer opens a NEW SSH connection to a node (replicas through a new
// connection to the master), so the firewall step proves the new rules
// still let the operator in before it cancels their rollback.
type Redialer func(ctx context.Context, n inventory.Node) (host.Host, io.Closer, error)

// Cluster is what the steps know about the whole cluster; ctl builds it
// once per run.
type Cluster struct {
	Inv *inventory.Inventory
	// Addrs are the nodes' IP addresses by name, resolved once.
	Addrs map[string]netip.Addr
	CA    *pki.CA
	// Passwords of the Redis ACL users, read from the inventory's secrets.
	CounterdPassword, ReplicationPassword string
	// Sentinel's: the Redis ACL user sentinel, the sentinels' users
	// sentinel-peer and counterctl (counterd's is CounterdPassword).
	SentinelPassword, SentinelPeerPassword, SentinelAdminPassword string
	// TSIGSecret signs the DNS watcher's updates (dns.tsig's secret).
	TSIGSecret string
	// RTT orders continents for the DNS watcher (ctl/lab's matrix).
	RTT      []dnswatch.RTT
	Packages PackageSource
	Redial   Redialer
	Now      func() time.Time
	// LinkTimeout bounds the wait for a replica's replication link.
	LinkTimeout time.Duration
	// PollEvery is the pause between polls of a condition.
	PollEvery time.Duration
	// Master names the live master (livemaster.Decide): after a failover
	// it is not the inventory's role: master. Empty means the inventory's.
	Master string
}

// master is the live master: replicas follow it, counterd writes to it.
func (c *Cluster) master() inventory.Node {
	if n, ok := c.Inv.Node(c.Master); ok {
		return n
	}
	return c.Inv.Master()
}

// LiveNodes is the inventory's nodes as livemaster.Decide matches them to
// a replica's master_host:master_port: by inventory address and by IP.
func (c *Cluster) LiveNodes() []livemaster.Node {
	return livemaster.NodesOf(c.Inv, c.Addrs, redisconf.DefaultPort)
}

// ReplicationInfo asks the node's Redis for INFO replication over its Unix
// socket. It fails on a node where Redis or counterd's password is not
// set up yet, which livemaster.Decide counts as not answering.
func ReplicationInfo(ctx context.Context, h host.Host) (redisinfo.Fields, error) {
	out, err := h.Query(ctx, redisCLIArgv("info", "replication")...)
	if err != nil {
		return nil, fmt.Errorf("redis on %s: %w", h.Name(), err)
	}
	f := redisinfo.Parse(string(out))
	if f["role"] == "" {
		return nil, fmt.Errorf("redis on %s answered %s", h.Name(), firstLine(out))
	}
	return f, nil
}

// All returns the steps in the order they run on a node. Redis and
// Sentinel come before counterd so counterd starts against a configured
// Redis and sentinels that already name the master; the firewall comes
// after the services (anycast's BIRD too) so its apply never races their
// start.
func All(c *Cluster) []phase.Step {
	return []phase.Step{
		System{c: c},
		Package{c: c},
		Redis{c: c},
		Replication{c: c},
		Sentinel{c: c},
		Counterd{c: c},
		Anycast{c: c},
		DNSWatch{c: c},
		DNSSecondary{c: c},
		Firewall{c: c},
		SSHD{c: c},
		RAID{c: c},
	}
}

// node finds the inventory node a host stands for.
func (c *Cluster) node(h host.Host) (inventory.Node, error) {
	n, ok := c.Inv.Node(h.Name())
	if !ok {
		return inventory.Node{}, fmt.Errorf("host %q is not in the inventory", h.Name())
	}
	return n, nil
}

func (c *Cluster) addr(n inventory.Node) (netip.Addr, error) {
	a, ok := c.Addrs[n.Name]
	if !ok {
		return netip.Addr{}, fmt.Errorf("no IP address known for node %s (%s)", n.Name, n.Address)
	}
	return a, nil
}

func (c *Cluster) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// wait polls cond until it reports done, ctx ends or timeout passes.
func (c *Cluster) wait(ctx context.Context, timeout time.Duration, cond func(context.Context) (bool, string, error)) error {
	every := c.PollEvery
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not checked yet"
	for {
		done, why, err := cond(ctx)
		if err == nil && done {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = why
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gave up after %s: %s", timeout, last)
		case <-t.C:
		}
	}
}
