// Package livemaster answers "which node is the master now". The
// inventory's `role: master` names the first master, the one a new cluster
// is built around; after a failover or a switchover the live master is
// another node, and provision, status and health must follow it rather
// than turn the old master back into a master (split brain).
//
// The answer comes, in this order, from the nodes' own replication state
// (INFO replication: exactly one node is master and every replica that
// answers replicates from it; any disagreement is an error naming the
// nodes, never a guess) and, only when no node has replication set up (a
// cluster never provisioned, or no node answering), from the inventory.
package livemaster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"counter/internal/redisinfo"
	"counter/provisioning/inventory"
)

// Source says how a Decision was reached.
type Source string

// Sources of a Decision.
const (
	FromNodes     Source = "nodes"     // the nodes' own INFO replication
	FromInventory Source = "inventory" // role: master; no node has replication set up
)

// Node is one data node as Decide sees it.
type Node struct {
	inventory.Node
	// Addrs are the host:port forms a replica's master_host:master_port
	// may take for this node (its inventory address, its resolved IP).
	Addrs []string
}

// NodesOf is the inventory's nodes with the host:port forms a replica may
// name them by: the inventory address and, where known, the resolved IP,
// each with Redis' port.
func NodesOf(inv *inventory.Inventory, addrs map[string]netip.Addr, port int) []Node {
	p := strconv.Itoa(port)
	out := make([]Node, 0, len(inv.Nodes))
	for _, n := range inv.Nodes {
		ln := Node{Node: n, Addrs: []string{net.JoinHostPort(n.Address, p)}}
		if a, ok := addrs[n.Name]; ok {
			ln.Addrs = append(ln.Addrs, net.JoinHostPort(a.String(), p))
		}
		out = append(out, ln)
	}
	return out
}

// Query asks one node's Redis for INFO replication.
type Query func(ctx context.Context, n inventory.Node) (redisinfo.Fields, error)

// Decision is the live master and how it was found.
type Decision struct {
	Master inventory.Node
	Source Source
	// Why is one line for reports: which nodes said what.
	Why string
	// Unreachable are the nodes whose Redis did not answer, with the error.
	Unreachable map[string]error
}

// ErrDisagree is wrapped by Decide when the nodes' answers name more than
// one master: the caller must stop rather than pick one.
var ErrDisagree = errors.New("nodes disagree on the master")

// Decide asks every node at once and returns the live master. first is
// the inventory's master, used only when no node has replication set up.
func Decide(ctx context.Context, nodes []Node, first inventory.Node, q Query) (Decision, error) {
	infos := make([]redisinfo.Fields, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { infos[i], errs[i] = q(ctx, n.Node) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}

	d := Decision{Unreachable: map[string]error{}}
	owner := func(host, port string) (int, bool) {
		hp := net.JoinHostPort(host, port)
		for i, n := range nodes {
			if slices.Contains(n.Addrs, hp) {
				return i, true
			}
		}
		return -1, false
	}
	// masters claim the role and have replicas; named are the nodes the
	// replicas follow, with who follows them.
	var masters []int
	named := map[int][]string{}
	var strangers []string
	for i, n := range nodes {
		if errs[i] != nil {
			d.Unreachable[n.Name] = errs[i]
			continue
		}
		f := infos[i]
		switch f["role"] {
		case "master":
			// A master without replicas is a fresh Redis (Debian's
			// default) or a lone node: it claims nothing yet, unless a
			// replica names it (checked below).
			if f["connected_slaves"] != "" && f["connected_slaves"] != "0" {
				masters = append(masters, i)
			}
		case "slave":
			j, ok := owner(f["master_host"], f["master_port"])
			if !ok {
				strangers = append(strangers, fmt.Sprintf("%s follows %s", n.Name, net.JoinHostPort(f["master_host"], f["master_port"])))
				continue
			}
			named[j] = append(named[j], n.Name)
		default:
			d.Unreachable[n.Name] = fmt.Errorf("INFO replication has role %q", f["role"])
		}
	}
	if len(strangers) > 0 {
		return Decision{}, fmt.Errorf("%w: %s, which is no node of the inventory", ErrDisagree, strings.Join(strangers, ", "))
	}
	for j := range named {
		if !slices.Contains(masters, j) {
			masters = append(masters, j)
		}
	}
	slices.Sort(masters)
	switch len(masters) {
	case 0:
		d.Master, d.Source = first, FromInventory
		d.Why = "no node has replication set up: the inventory's role: master"
		return d, nil
	case 1:
	default:
		var claims []string
		for _, j := range masters {
			claims = append(claims, claim(nodes[j].Name, infos[j], named[j]))
		}
		return Decision{}, fmt.Errorf("%w: %s", ErrDisagree, strings.Join(claims, "; "))
	}
	m := masters[0]
	d.Master, d.Source = nodes[m].Node, FromNodes
	d.Why = claim(nodes[m].Name, infos[m], named[m])
	// Another answering master, even one without replicas, that the
	// inventory calls master is the old master come back alone: it must be
	// named, not silently made a replica by whoever runs next.
	for i, n := range nodes {
		if i != m && errs[i] == nil && infos[i]["role"] == "master" && n.Role == inventory.RoleMaster {
			return Decision{}, fmt.Errorf("%w: %s; %s (role: master in the inventory) is a master without replicas",
				ErrDisagree, d.Why, n.Name)
		}
	}
	return d, nil
}

func claim(name string, f redisinfo.Fields, followers []string) string {
	var b strings.Builder
	b.WriteString(name)
	if f != nil && f["role"] == "master" {
		b.WriteString(" is master")
	} else {
		b.WriteString(" does not answer as master")
	}
	if len(followers) > 0 {
		slices.Sort(followers)
		fmt.Fprintf(&b, " followed by %s", strings.Join(followers, ", "))
	}
	return b.String()
}
