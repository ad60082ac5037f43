package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"counter/provisioning/inventory"
	"counter/provisioning/sshx"
)

// Connector opens and caches SSH connections to inventory nodes. The master
// and the mirror are dialled directly (they take SSH from admin_networks);
// replicas take SSH from the master only, so they are reached through it.
type Connector struct {
	inv  *inventory.Inventory
	opts ConnectOptions

	mu      sync.Mutex
	clients map[string]*sshx.Client
}

// ConnectOptions are the per-run choices the inventory does not hold.
type ConnectOptions struct {
	AgentSocket  string // $SSH_AUTH_SOCK, for nodes without key_file
	AcceptNew    bool   // record unknown host keys (never changed ones)
	OnNewHostKey func(sshx.NewHostKey)
	// Direct dials replicas directly instead of through the master, for a
	// first run before the firewall exists or when the master is down.
	Direct bool
	Logger *slog.Logger
}

// NewConnector returns a Connector for the nodes of inv.
func NewConnector(inv *inventory.Inventory, opts ConnectOptions) *Connector {
	return &Connector{inv: inv, opts: opts, clients: map[string]*sshx.Client{}}
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
// replica, connecting the master first) if needed.
func (c *Connector) Client(ctx context.Context, n inventory.Node) (*sshx.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client(ctx, n)
}

func (c *Connector) client(ctx context.Context, n inventory.Node) (*sshx.Client, error) {
	if cl, ok := c.clients[n.Name]; ok {
		return cl, nil
	}
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
	if n.Role == inventory.RoleReplica && !c.opts.Direct {
		via, err := c.client(ctx, c.inv.Master())
		if err != nil {
			return nil, fmt.Errorf("%s: reach it through the master: %w", n.Name, err)
		}
		cfg.Via = via
	}
	cl, err := sshx.Dial(ctx, net.JoinHostPort(n.Address, strconv.Itoa(n.SSH.Port)), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	c.clients[n.Name] = cl
	return cl, nil
}

// Close closes every connection, replicas before the master they run through.
func (c *Connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	var master *sshx.Client
	for name, cl := range c.clients {
		if n, ok := c.inv.Node(name); ok && n.Role == inventory.RoleMaster {
			master = cl
			continue
		}
		errs = append(errs, cl.Close())
	}
	if master != nil {
		errs = append(errs, master.Close())
	}
	clear(c.clients)
	return errors.Join(errs...)
}
