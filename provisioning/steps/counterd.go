package steps

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"counter/provisioning/firewall"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/redisconf"
)

// Where counterd's configuration lives on a node. The unit (in the
// package) reads ConfigPath; the password file is named in it, never
// its content.
const (
	CounterdDir      = "/etc/counterd"
	CounterdConfig   = CounterdDir + "/counterd.yaml"
	CounterdPassword = CounterdDir + "/redis.pass"
	CounterdTLSDir   = CounterdDir + "/tls"
	// The client certificate counterd presents to Redis, which refuses
	// TLS clients without one from the cluster CA.
	CounterdClientCert = CounterdTLSDir + "/redis-client.crt"
	CounterdClientKey  = CounterdTLSDir + "/redis-client.key"
	counterdUnit       = "counterd.service"
	counterdUser       = "counterd"
	// CounterdMaxStaleness is --max-staleness on the nodes: above the
	// sentinels' down-after plus a second, see CounterdYAML.
	CounterdMaxStaleness = redisconf.DownAfter + 2*time.Second
	// CounterdRedisTimeout is --redis-timeout on the nodes: the budget of a
	// whole press. When the master is on another continent than the node
	// and than the replica it must wait for (after a failover to a
	// continental replica), a press is a round trip to the master plus one
	// from the master to that replica, up to 340 ms each on the WAN, and a
	// second WAIT when that replica is not attached yet: counterd's 1 s
	// default then timed out every press from the far nodes (chaos
	// scenario 2, 2026-12-02 10:16: sa promoted, presses never succeeded
	// again, registrations on africa refused).
	CounterdRedisTimeout = 3 * time.Second
)

// Counterd writes counterd's configuration, its Redis password file and
// client certificate, and keeps the service enabled and running,
// restarting it only when one of them changed. (A new binary restarts it
// from the package's postinst.)
type Counterd struct{ c *Cluster }

// Title names the step in reports.
func (Counterd) Title() string { return "counterd" }

// Run brings counterd's files and service up to date.
func (s Counterd) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	var changes []*host.Change
	for _, d := range []string{CounterdDir, CounterdTLSDir} {
		c, err := ensureDir(ctx, h, d, 0o750, "root", counterdUser)
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c)
	}
	certs, err := s.c.ensureCert(ctx, h, "counterd "+n.Name, []string{"127.0.0.1"},
		CounterdClientCert, CounterdClientKey, counterdUser)
	if err != nil {
		return phase.Result{}, err
	}
	https, err := s.c.ensureHTTPSCert(ctx, h, n)
	if err != nil {
		return phase.Result{}, err
	}
	certs = append(certs, https...)
	conf, err := s.c.CounterdYAML(n)
	if err != nil {
		return phase.Result{}, err
	}
	files := []host.File{
		{Path: CounterdTLSDir + "/ca.crt", Content: s.c.CA.CertPEM(), Mode: 0o644},
		{Path: CounterdPassword, Content: []byte(s.c.CounterdPassword + "\n"), Mode: 0o640, Group: counterdUser, Secret: true},
		{Path: CounterdConfig, Content: conf, Mode: 0o640, Group: counterdUser},
	}
	restartFor := certs
	for _, f := range files {
		c, err := h.EnsureFile(ctx, f)
		if err != nil {
			return phase.Result{}, err
		}
		restartFor = append(restartFor, c)
	}
	if !h.DryRun() && phase.Collect(restartFor...).Status == phase.Changed {
		// As the service's user, so unreadable files show up here and not
		// as a restart loop.
		if _, err := h.Query(ctx, "runuser", "-u", counterdUser, "--", "counterd", "--check-config", "--config", CounterdConfig); err != nil {
			return phase.Result{}, fmt.Errorf("counterd refuses %s, not restarting it: %w", CounterdConfig, err)
		}
	}
	run, err := ensureRunning(ctx, h, counterdUnit, restartFor...)
	if err != nil {
		return phase.Result{}, err
	}
	changes = append(append(changes, restartFor...), run...)
	return phase.Collect(changes...), nil
}

// CounterdYAML is /etc/counterd/counterd.yaml for n: HTTPS on 443 with the
// node's certificate, 80 redirecting to it, the node's name in every
// answer's Counter-Node header; reads from the local Redis over loopback,
// writes to the master the sentinels name, all TLS
// with the cluster CA, as the counterd ACL user. /metrics is served on the
// node's own address, whose port the firewall opens to the admin networks only.
func (c *Cluster) CounterdYAML(n inventory.Node) ([]byte, error) {
	a, err := c.addr(n)
	if err != nil {
		return nil, err
	}
	metrics := netip.AddrPortFrom(a, firewall.DefaultPorts().Metrics)
	local := redisURL("127.0.0.1")
	// Writes go to the master the sentinels name, so a failover needs no
	// restart and no re-run. The leader of a failover announces the new
	// master only once every replica follows it, 3 s after the others did
	// on the lab, and counterd next to it, asking it, refused presses until
	// then (chaos scenario 1, 14:19). The store asks the sentinels of the
	// list in order (the promotion order, who is down), so those that lead
	// failovers come last. (go-redis' failover client asks them all at once
	// and follows the first to answer, whatever the order.)
	sentinels, err := c.counterdSentinels(n)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s for node %s (%s) of cluster %s.\n", CounterdConfig, n.Name, n.Role, c.Inv.Cluster)
	b.WriteString("# Written by `counterctl provision`: local edits are overwritten on its next run.\n")
	// HTTPS with HTTP/2 on 443, plain HTTP on 80 only to redirect there
	// (and for health probes). The unit grants CAP_NET_BIND_SERVICE.
	fmt.Fprintf(&b, "listen: %q\n", CounterdHTTPS)
	fmt.Fprintf(&b, "tls-cert: %s\n", CounterdHTTPSCert)
	fmt.Fprintf(&b, "tls-key: %s\n", CounterdHTTPSKey)
	fmt.Fprintf(&b, "http-redirect-addr: %q\n", CounterdHTTP)
	fmt.Fprintf(&b, "node-name: %s\n", n.Name)
	fmt.Fprintf(&b, "metrics-listen: %q\n", metrics)
	fmt.Fprintf(&b, "redis: %q\n", local)
	fmt.Fprintf(&b, "sentinels: %q\n", strings.Join(sentinels, ","))
	fmt.Fprintf(&b, "master-name: %q\n", c.Inv.Cluster)
	// A replica whose master died stays ready once the sentinels agree it
	// is down; it must not go unready before they can have said so.
	fmt.Fprintf(&b, "max-staleness: %s\n", CounterdMaxStaleness)
	fmt.Fprintf(&b, "redis-timeout: %s\n", CounterdRedisTimeout)
	fmt.Fprintf(&b, "redis-password-file: %s\n", CounterdPassword)
	fmt.Fprintf(&b, "redis-ca-file: %s\n", CounterdTLSDir+"/ca.crt")
	// Redis refuses TLS clients without a certificate from the cluster CA.
	fmt.Fprintf(&b, "redis-cert-file: %s\n", CounterdClientCert)
	fmt.Fprintf(&b, "redis-key-file: %s\n", CounterdClientKey)
	return b.Bytes(), nil
}

func redisURL(host string) string {
	u := url.URL{Scheme: "rediss", User: url.User("counterd"),
		Host: net.JoinHostPort(host, strconv.Itoa(redisconf.DefaultPort)), Path: "/0"}
	return u.String()
}

// counterdSentinels are the sentinels a node's counterd asks, in order: its
// own first, then the others in inventory order, those that lead failovers
// last (see CounterdYAML).
func (c *Cluster) counterdSentinels(n inventory.Node) ([]string, error) {
	roles, majority := c.Inv.SentinelRoles(), c.Inv.SentinelQuorum()
	leads := func(o inventory.Node) bool { return roles[o.Name].Leads(majority) }
	order := []inventory.Node{n}
	for _, o := range c.Inv.Nodes {
		if o.Name != n.Name {
			order = append(order, o)
		}
	}
	slices.SortStableFunc(order, func(a, b inventory.Node) int {
		switch {
		case leads(a) == leads(b):
			return 0
		case leads(a):
			return 1
		}
		return -1
	})
	var out []string
	for _, o := range order {
		a, err := c.addr(o)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.AddrPortFrom(a, redisconf.SentinelPort).String())
	}
	return out, nil
}
