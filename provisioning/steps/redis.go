package steps

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/pki"
	"counter/provisioning/redisconf"
)

// Certificate lifetimes: node certificates are re-issued a month before
// they expire, so a monthly provision run always renews them in time.
const (
	CertValidity = 365 * 24 * time.Hour
	RenewWithin  = 30 * 24 * time.Hour
)

// redisUnit is Debian's unit for the Redis server.
const redisUnit = "redis-server.service"

// RedisDropIn keeps redis.conf read-only to redis-server. Sentinel sends
// CONFIG REWRITE with every promotion and repointing; Debian's unit lets
// Redis write /etc/redis, and a rewrite would turn provision's file into
// Redis' own format, which provision would then put back with a restart.
// Here the rewrite fails (inside Sentinel's MULTI, which still applies
// the REPLICAOF), and provision keeps replicaof in line with the live
// master instead, without a restart.
const RedisDropIn = "/etc/systemd/system/redis-server.service.d/counter.conf"

var redisDropIn = []byte(`# Written by counterctl provision: redis.conf belongs to provision, which
# keeps its replicaof in line with the live master; Sentinel's CONFIG
# REWRITE fails here on purpose.
[Service]
ReadOnlyPaths=` + redisconf.ConfigPath + `
`)

// Redis configures the node's Redis: its certificate from the cluster CA
// (issued here, by counterctl, only when NeedsRenewal says so), the CA,
// redis.conf for the node's role, and a restart only when one changed.
type Redis struct{ c *Cluster }

// Title names the step in reports.
func (Redis) Title() string { return "redis" }

// Run brings certificates and configuration up to date.
func (s Redis) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	addr, err := s.c.addr(n)
	if err != nil {
		return phase.Result{}, err
	}
	paths := redisconf.DebianPaths()
	dir, err := ensureDir(ctx, h, redisconf.TLSDir, 0o750, "root", "redis")
	if err != nil {
		return phase.Result{}, err
	}
	bind := []netip.Addr{addr}
	certs, err := s.c.ensureCert(ctx, h, "redis "+n.Name, redisconf.CertSANs(n.Address, bind),
		paths.TLSCertFile, paths.TLSKeyFile, "redis")
	if err != nil {
		return phase.Result{}, err
	}
	ca, err := h.EnsureFile(ctx, host.File{Path: paths.TLSCAFile, Content: s.c.CA.CertPEM(), Mode: 0o644})
	if err != nil {
		return phase.Result{}, err
	}
	// The replication step (next) asks Redis as counterd's ACL user, with
	// counterd's password file: it must exist before the counterd step,
	// which since counterd starts after Sentinel runs later. The same file
	// as that step writes, so it then reports no change.
	pwDir, err := ensureDir(ctx, h, CounterdDir, 0o750, "root", counterdUser)
	if err != nil {
		return phase.Result{}, err
	}
	pw, err := h.EnsureFile(ctx, host.File{Path: CounterdPassword, Content: []byte(s.c.CounterdPassword + "\n"), Mode: 0o640, Group: counterdUser, Secret: true})
	if err != nil {
		return phase.Result{}, err
	}
	conf, err := redisconf.Render(s.params(n, bind))
	if err != nil {
		return phase.Result{}, err
	}
	old, _, err := readFile(ctx, h, redisconf.ConfigPath)
	if err != nil {
		return phase.Result{}, err
	}
	// masterauth is in it: the content stays out of logs, and the diff
	// shows every line but that one's value.
	cc, err := h.EnsureFile(ctx, host.File{Path: redisconf.ConfigPath, Content: conf, Mode: 0o640, Group: "redis", Secret: true})
	if err != nil {
		return phase.Result{}, err
	}
	if cc != nil && !bytes.Equal(old, conf) {
		cc.Diff = host.UnifiedDiff(redisconf.ConfigPath, redactAuth(old), redactAuth(conf), old != nil)
	}
	dropIn, unitChanges, err := ensureDropIn(ctx, h, RedisDropIn, redisDropIn)
	if err != nil {
		return phase.Result{}, err
	}
	changes := append([]*host.Change{dir}, certs...)
	changes = append(changes, dropIn, ca, cc)
	restartOn := changes[1:]
	if cc != nil && sameButReplicaof(old, conf) {
		// Only the replicaof line (and the role in the header) moved: the
		// live master changed, by a failover or a switchover, and Redis
		// already runs that way. A restart would only drop the node's
		// data and its clients; the file is brought in line for the next
		// start. If Redis does not run as the file now says, restart.
		if ok, err := s.runsAs(ctx, h, n); err != nil {
			return phase.Result{}, err
		} else if ok {
			restartOn = changes[1 : len(changes)-1] // all but cc
		}
	}
	run, err := ensureRunning(ctx, h, redisUnit, restartOn...)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(append(append(changes, pwDir, pw), append(unitChanges, run...)...)...), nil
}

func (s Redis) params(n inventory.Node, bind []netip.Addr) redisconf.Params {
	prio := n.PromotionPriority
	p := redisconf.Params{
		Role:                redisconf.Role(s.c.liveRole(n)),
		Node:                n.Name,
		Bind:                bind,
		CounterdPassword:    s.c.CounterdPassword,
		ReplicationPassword: s.c.ReplicationPassword,
		SentinelPassword:    s.c.SentinelPassword,
		Priority:            &prio,
	}
	if len(s.c.Inv.Nodes) > 1 {
		// A lone master has no replica to wait for.
		p.MinReplicasToWrite = 1
	}
	if m := s.c.master(); n.Name != m.Name {
		p.Master = m.Address
	}
	return p
}

// ensureDropIn writes a systemd drop-in and reloads systemd when it
// changed; file is the drop-in's change, on which the caller restarts the
// unit, other the directory's and the reload's.
func ensureDropIn(ctx context.Context, h host.Host, path string, content []byte) (file *host.Change, other []*host.Change, err error) {
	dir, err := ensureDir(ctx, h, filepath.Dir(path), 0o755, "root", "root")
	if err != nil {
		return nil, nil, err
	}
	file, err = h.EnsureFile(ctx, host.File{Path: path, Content: content, Mode: 0o644})
	if err != nil || file == nil {
		return file, []*host.Change{dir}, err
	}
	reload, err := h.Exec(ctx, "reload systemd units", "systemctl", "daemon-reload")
	return file, []*host.Change{dir, reload}, err
}

// sameButReplicaof reports whether two redis.conf differ only in comments
// and the replicaof line.
func sameButReplicaof(a, b []byte) bool {
	strip := func(conf []byte) []string {
		var out []string
		for line := range strings.Lines(string(conf)) {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "replicaof ") {
				continue
			}
			out = append(out, line)
		}
		return out
	}
	return a != nil && slices.Equal(strip(a), strip(b))
}

// runsAs reports whether the node's running Redis already has the place
// the live master gives it: master if it is the live master, else a
// replica of the live master.
func (s Redis) runsAs(ctx context.Context, h host.Host, n inventory.Node) (bool, error) {
	f, err := ReplicationInfo(ctx, h)
	if err != nil {
		return false, nil // not running or not answering: the restart decides
	}
	m := s.c.master()
	if n.Name == m.Name {
		return f["role"] == "master", nil
	}
	if f["role"] != "slave" {
		return false, nil
	}
	hp := net.JoinHostPort(f["master_host"], f["master_port"])
	for _, ln := range s.c.LiveNodes() {
		if ln.Name == m.Name {
			return slices.Contains(ln.Addrs, hp), nil
		}
	}
	return false, nil
}

// liveRole is the role n's redis.conf is rendered for: master for the live
// master; the inventory's master, when it no longer is one, as a mirror:
// it is in the master's datacentre, so it keeps the mirror's promotion
// priority and its AOF, and its file differs only in replicaof.
func (c *Cluster) liveRole(n inventory.Node) inventory.Role {
	switch m := c.master(); {
	case n.Name == m.Name:
		return inventory.RoleMaster
	case n.Role == inventory.RoleMaster:
		return inventory.RoleMirror
	}
	return n.Role
}

// ensureCert keeps a certificate and key from the cluster CA at certPath
// and keyPath, readable by group, issuing a new pair only when the one on
// the node is missing, foreign, for other names, near expiry, or does not
// match its key.
func (c *Cluster) ensureCert(ctx context.Context, h host.Host, name string, sans []string, certPath, keyPath, group string) ([]*host.Change, error) {
	cert, _, err := readFile(ctx, h, certPath)
	if err != nil {
		return nil, err
	}
	renew, why := pki.NeedsRenewal(cert, c.CA, sans, c.now(), RenewWithin)
	if !renew {
		key, _, err := readFile(ctx, h, keyPath)
		if err != nil {
			return nil, err
		}
		if err := pki.CheckPair(cert, key); err != nil {
			renew, why = true, "its key does not match"
		}
	}
	if !renew {
		return nil, nil
	}
	certPEM, keyPEM, err := c.CA.Issue(name, sans, c.now(), CertValidity)
	if err != nil {
		return nil, fmt.Errorf("issue certificate %s: %w", certPath, err)
	}
	kc, err := h.EnsureFile(ctx, host.File{Path: keyPath, Content: keyPEM, Mode: 0o640, Group: group, Secret: true})
	if err != nil {
		return nil, err
	}
	cc, err := h.EnsureFile(ctx, host.File{Path: certPath, Content: certPEM, Mode: 0o644})
	if err != nil {
		return nil, err
	}
	if cc != nil {
		// The diff of two certificates says nothing; the reason does.
		cc = &host.Change{What: cc.What + " (certificate: " + why + ")"}
	}
	return []*host.Change{kc, cc}, nil
}

// redactAuth hides the values of masterauth lines (the replication
// password in clear); the ACL lines hold only hashes.
func redactAuth(conf []byte) []byte {
	lines := strings.SplitAfter(string(conf), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "masterauth ") {
			lines[i] = "masterauth (secret, not shown)\n"
		}
	}
	return []byte(strings.Join(lines, ""))
}
