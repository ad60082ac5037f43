package livemaster

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"counter/provisioning/inventory"
)

// FromSentinels: a majority of the sentinels named the master.
const FromSentinels Source = "sentinels"

// Sentinels are the sentinels asked before the nodes, and how.
type Sentinels struct {
	Addrs []string // host:port of every sentinel the cluster has
	// Ask returns the host:port one sentinel gives for the master.
	Ask func(ctx context.Context, addr string) (string, error)
}

// AskRedis asks with SENTINEL GET-MASTER-ADDR-BY-NAME name. opt carries
// TLS and auth; its Addr is set per sentinel. Every call is bounded by ctx.
func AskRedis(name string, opt redis.Options) func(context.Context, string) (string, error) {
	return func(ctx context.Context, addr string) (string, error) {
		o := opt
		o.Addr = addr
		o.MaxRetries = -1
		c := redis.NewSentinelClient(&o)
		defer c.Close()
		hp, err := c.GetMasterAddrByName(ctx, name).Result()
		if err != nil {
			return "", fmt.Errorf("sentinel %s: %w", addr, err)
		}
		if len(hp) != 2 {
			return "", fmt.Errorf("sentinel %s: master address %q", addr, hp)
		}
		return net.JoinHostPort(hp[0], hp[1]), nil
	}
}

// DecideWithSentinels is the sentinels' majority view: more than half of
// all the sentinels (not only of those answering) name the same node.
// Sentinels that answer without such a majority are an error naming each
// view, never a guess, unless they are a minority that all name the node
// the nodes' own replication names too (sentinels down or not set up
// everywhere yet). When no sentinel answers (or there are none), the
// nodes decide (Decide).
func DecideWithSentinels(ctx context.Context, s Sentinels, nodes []Node, first inventory.Node, q Query) (Decision, error) {
	views := make([]string, len(s.Addrs))
	errs := make([]error, len(s.Addrs))
	var wg sync.WaitGroup
	for i, a := range s.Addrs {
		wg.Go(func() { views[i], errs[i] = s.Ask(ctx, a) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	votes := map[string]int{}
	var said []string
	for i, a := range s.Addrs {
		if errs[i] != nil {
			said = append(said, fmt.Sprintf("%s: %v", a, errs[i]))
			continue
		}
		votes[views[i]]++
		said = append(said, a+" says "+views[i])
	}
	if len(votes) == 0 {
		d, err := Decide(ctx, nodes, first, q)
		if len(s.Addrs) > 0 && err == nil {
			d.Why += "; no sentinel answered (" + strings.Join(said, ", ") + ")"
		}
		return d, err
	}
	for view, n := range votes {
		if 2*n <= len(s.Addrs) {
			continue
		}
		for _, nd := range nodes {
			if slices.Contains(nd.Addrs, view) {
				return Decision{Master: nd.Node, Source: FromSentinels,
					Why: fmt.Sprintf("%d of %d sentinels name %s (%s)", n, len(s.Addrs), nd.Name, view)}, nil
			}
		}
		return Decision{}, fmt.Errorf("%w: %d of %d sentinels name %s, which is no node of the inventory", ErrDisagree, n, len(s.Addrs), view)
	}
	// Fewer than a majority answered (sentinels down, or not set up yet
	// on every node) and they all name one node: the nodes' own view
	// decides, and must name the same node.
	answered := 0
	for _, n := range votes {
		answered += n
	}
	if len(votes) == 1 && 2*answered <= len(s.Addrs) {
		d, err := Decide(ctx, nodes, first, q)
		if err == nil {
			for view := range votes {
				for _, nd := range nodes {
					if nd.Name == d.Master.Name && slices.Contains(nd.Addrs, view) {
						d.Why += fmt.Sprintf("; %d of %d sentinels answered, naming it too", answered, len(s.Addrs))
						return d, nil
					}
				}
			}
		}
	}
	return Decision{}, fmt.Errorf("%w: no majority of %d sentinels: %s", ErrDisagree, len(s.Addrs), strings.Join(said, "; "))
}
