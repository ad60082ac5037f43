package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/sshx"
)

// Pool is a Dialer for checks that run against a deadline. Unlike a dialer
// that holds one lock across every handshake, it dials nodes concurrently,
// so one silent node cannot use up the others' time; and it remembers
// failures, so six replicas behind a dead master cost one timeout, not six.
type Pool struct {
	inv *inventory.Inventory
	cfg func(inventory.Node) sshx.Config

	mu    sync.Mutex
	conns map[string]*pending
}

type pending struct {
	done chan struct{}
	cl   *sshx.Client
	err  error
}

// PoolOptions are the choices the inventory does not hold.
type PoolOptions struct {
	AgentSocket string // $SSH_AUTH_SOCK, for nodes without key_file
	// ConnectTimeout caps each node's connect_timeout, so a check run fits
	// its budget; 0 keeps the inventory's.
	ConnectTimeout time.Duration
}

// NewPool returns a Pool for the nodes of inv. Host keys are always verified;
// a check never records new ones.
func NewPool(inv *inventory.Inventory, opts PoolOptions) *Pool {
	cfg := func(n inventory.Node) sshx.Config {
		c := sshx.Config{
			User:           n.SSH.User,
			KeyFile:        n.SSH.KeyFile,
			AgentSocket:    opts.AgentSocket,
			KnownHosts:     n.SSH.KnownHosts,
			ConnectTimeout: n.SSH.ConnectTimeout,
			CommandTimeout: n.SSH.CommandTimeout,
		}
		if opts.ConnectTimeout > 0 && (c.ConnectTimeout == 0 || c.ConnectTimeout > opts.ConnectTimeout) {
			c.ConnectTimeout = opts.ConnectTimeout
		}
		return c
	}
	return &Pool{inv: inv, cfg: cfg, conns: map[string]*pending{}}
}

// Client returns n's connection, dialling it (a replica through the master)
// on first use. Concurrent callers for one node share one dial.
func (p *Pool) Client(ctx context.Context, n inventory.Node) (*sshx.Client, error) {
	p.mu.Lock()
	c, ok := p.conns[n.Name]
	if !ok {
		c = &pending{done: make(chan struct{})}
		p.conns[n.Name] = c
	}
	p.mu.Unlock()
	if !ok {
		c.cl, c.err = p.dial(ctx, n)
		close(c.done)
	}
	select {
	case <-c.done:
		return c.cl, c.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p *Pool) dial(ctx context.Context, n inventory.Node) (*sshx.Client, error) {
	cfg := p.cfg(n)
	if n.Role == inventory.RoleReplica {
		via, err := p.Client(ctx, p.inv.Master())
		if err != nil {
			return nil, fmt.Errorf("through the master: %w", err)
		}
		cfg.Via = via
	}
	return sshx.Dial(ctx, net.JoinHostPort(n.Address, strconv.Itoa(n.SSH.Port)), cfg)
}

// Close closes every connection, replicas before the master they run through.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	var master *sshx.Client
	for name, c := range p.conns {
		select {
		case <-c.done:
		default:
			continue // still dialling; its context ends it
		}
		if c.cl == nil {
			continue
		}
		if n, ok := p.inv.Node(name); ok && n.Role == inventory.RoleMaster {
			master = c.cl
			continue
		}
		errs = append(errs, c.cl.Close())
	}
	if master != nil {
		errs = append(errs, master.Close())
	}
	clear(p.conns)
	return errors.Join(errs...)
}
