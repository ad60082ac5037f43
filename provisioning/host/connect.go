package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/sshx"
)

// Connector opens and caches SSH connections to inventory nodes. The master
// and the mirror are dialled directly (they take SSH from admin_networks);
// replicas take SSH from the master only, so they are reached through it.
//
// Nodes are dialled concurrently: no lock is held across a handshake, so one
// silent node cannot use up the others' time, and callers asking for the
// same node (six replicas needing the master) share one dial. A failure is
// remembered for the Connector's life: replicas behind a dead master cost
// one timeout, not six.
type Connector struct {
	inv  *inventory.Inventory
	opts ConnectOptions

	mu    sync.Mutex
	conns map[string]*dial
}

// dial is one node's connection, ready when done is closed.
type dial struct {
	done chan struct{}
	cl   *sshx.Client
	err  error
}

// ConnectOptions are the per-run choices the inventory does not hold.
type ConnectOptions struct {
	AgentSocket  string // $SSH_AUTH_SOCK, for nodes without key_file
	AcceptNew    bool   // record unknown host keys (never changed ones)
	OnNewHostKey func(sshx.NewHostKey)
	// Direct dials replicas directly instead of through the master, for a
	// first run before the firewall exists or when the master is down.
	Direct bool
	// ConnectTimeout caps each node's connect_timeout, so a check run fits
	// its budget; 0 keeps the inventory's.
	ConnectTimeout time.Duration
	Logger         *slog.Logger
}

// NewConnector returns a Connector for the nodes of inv.
func NewConnector(inv *inventory.Inventory, opts ConnectOptions) *Connector {
	return &Connector{inv: inv, opts: opts, conns: map[string]*dial{}}
}

// Host returns the node as a Host, connecting if needed.
func (c *Connector) Host(ctx context.Context, n inventory.Node) (*Remote, error) {
	cl, err := c.Client(ctx, n)
	if err != nil {
		return nil, err
	}
	return NewRemote(n.Name, cl), nil
}

// Client returns the node's SSH connection, connecting (and, for a
// replica, connecting the master first) on first use.
func (c *Connector) Client(ctx context.Context, n inventory.Node) (*sshx.Client, error) {
	c.mu.Lock()
	d, ok := c.conns[n.Name]
	if !ok {
		d = &dial{done: make(chan struct{})}
		c.conns[n.Name] = d
	}
	c.mu.Unlock()
	if !ok {
		d.cl, d.err = c.dial(ctx, n)
		close(d.done)
	}
	select {
	case <-d.done:
		return d.cl, d.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (c *Connector) dial(ctx context.Context, n inventory.Node) (*sshx.Client, error) {
	cfg := sshx.Config{
		User:           n.SSH.User,
		KeyFile:        n.SSH.KeyFile,
		AgentSocket:    c.opts.AgentSocket,
		KnownHosts:     n.SSH.KnownHosts,
		AcceptNew:      c.opts.AcceptNew,
		OnNewHostKey:   c.opts.OnNewHostKey,
		ConnectTimeout: n.SSH.ConnectTimeout,
		CommandTimeout: n.SSH.CommandTimeout,
		Logger:         c.opts.Logger,
	}
	if limit := c.opts.ConnectTimeout; limit > 0 && (cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > limit) {
		cfg.ConnectTimeout = limit
	}
	if n.Role == inventory.RoleReplica && !c.opts.Direct {
		via, err := c.jump(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: reach it through a jump host (master, mirror): %w", n.Name, err)
		}
		cfg.Via = via
	}
	cl, err := sshx.Dial(ctx, net.JoinHostPort(n.Address, strconv.Itoa(n.SSH.Port)), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	return cl, nil
}

// jump returns the first jump host that connects, in inventory order: the
// inventory's master, then the mirror. Replicas take SSH only from these
// (sshd.Params.JumpHost, the firewall), whichever of them is the live
// master: after a failover the dead master's place is taken by the
// mirror. Each dial is made once per Connector, so a dead master costs one
// connect timeout, not one per replica.
func (c *Connector) jump(ctx context.Context) (*sshx.Client, error) {
	var errs []error
	for _, j := range c.inv.Ordered() {
		if !isJumpHost(j) {
			continue
		}
		cl, err := c.Client(ctx, j)
		if err == nil {
			return cl, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("the inventory has no master or mirror")
	}
	return nil, errors.Join(errs...)
}

func isJumpHost(n inventory.Node) bool {
	return n.Role == inventory.RoleMaster || n.Role == inventory.RoleMirror
}

// Close closes every connection, replicas before the jump hosts they run through.
// Dials still under way are left to their contexts.
func (c *Connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	var jumps []*sshx.Client
	for name, d := range c.conns {
		select {
		case <-d.done:
		default:
			continue
		}
		if d.cl == nil {
			continue
		}
		if n, ok := c.inv.Node(name); ok && isJumpHost(n) {
			jumps = append(jumps, d.cl)
			continue
		}
		errs = append(errs, d.cl.Close())
	}
	for _, j := range jumps {
		errs = append(errs, j.Close())
	}
	clear(c.conns)
	return errors.Join(errs...)
}
