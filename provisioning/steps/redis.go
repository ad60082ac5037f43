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

// oldRedisDropIn is where provision used to make redis.conf read-only to
// redis-server (ReadOnlyPaths=), which made Sentinel's CONFIG REWRITE fail:
// a restart then brought back the roles from before the last failover.
// Provision removes it.
const oldRedisDropIn = "/etc/systemd/system/redis-server.service.d/counter.conf"

// Mode of redis.conf: Debian's (dpkg-statoverride redis redis 640), which
// CONFIG REWRITE keeps: Redis writes a new file as user redis and renames
// it over the old one, 0644 less the unit's UMask=007.
const (
	redisConfOwner = "redis"
	redisConfMode  = "640:redis:redis"
)

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
	conf, err := redisconf.Render(s.params(n, bind))
	if err != nil {
		return phase.Result{}, err
	}
	confChanges, restartConf, err := s.ensureConf(ctx, h, n, conf)
	if err != nil {
		return phase.Result{}, err
	}
	// The replication step asks Redis as the counterd user before the
	// counterd step writes counterd's password file: root has its own.
	pwDir, err := ensureDir(ctx, h, filepath.Dir(RedisCLIPassword), 0o755, "root", "root")
	if err != nil {
		return phase.Result{}, err
	}
	pw, err := h.EnsureFile(ctx, host.File{Path: RedisCLIPassword, Content: []byte(s.c.CounterdPassword + "\n"), Mode: 0o600, Secret: true})
	if err != nil {
		return phase.Result{}, err
	}
	dropIn, unitChanges, err := removeDropIn(ctx, h, oldRedisDropIn)
	if err != nil {
		return phase.Result{}, err
	}
	changes := append([]*host.Change{dir}, certs...)
	changes = append(changes, dropIn, ca)
	restartOn := slices.Concat(changes[1:], []*host.Change{restartConf})
	run, err := ensureRunning(ctx, h, redisUnit, restartOn...)
	if err != nil {
		return phase.Result{}, err
	}
	return phase.Collect(slices.Concat(changes, confChanges, []*host.Change{pwDir, pw}, unitChanges, run)...), nil
}

// ensureConf keeps redis.conf without fighting Redis' own rewrites of it.
// Provision owns conf but its replicaof line (redisconf.Owned), keeps that
// part at redisconf.OwnedPath and compares with it, never with redis.conf,
// which CONFIG REWRITE turns into Redis' own format after every failover.
// It writes redis.conf when what it owns changed, when the file is not its
// own (Debian's, or gone), or when the file's replicaof is not the live
// master's (a rewrite that never happened). restart is non-nil when Redis
// must restart to apply the file: not when only replicaof moved and Redis
// already runs that way.
func (s Redis) ensureConf(ctx context.Context, h host.Host, n inventory.Node, conf []byte) (changes []*host.Change, restart *host.Change, err error) {
	owned := redisconf.Owned(conf)
	had, _, err := readFile(ctx, h, redisconf.OwnedPath)
	if err != nil {
		return nil, nil, err
	}
	live, _, err := readFile(ctx, h, redisconf.ConfigPath)
	if err != nil {
		return nil, nil, err
	}
	header, _, _ := bytes.Cut(conf, []byte("\n"))
	ownedChanged := !bytes.Equal(had, owned) || !bytes.HasPrefix(live, header)
	if !ownedChanged && redisconf.Replicaof(live) == redisconf.Replicaof(conf) {
		// Redis may have rewritten the file (it then wrote it with its own
		// umask): only its mode is provision's business.
		mc, err := ensureMode(ctx, h, redisconf.ConfigPath, redisConfMode)
		return mc, nil, err
	}
	d, err := ensureDir(ctx, h, filepath.Dir(redisconf.OwnedPath), 0o755, "root", "root")
	if err != nil {
		return nil, nil, err
	}
	// masterauth is in it: the content stays out of logs, and the diff
	// shows every line but that one's value.
	cc, err := h.EnsureFile(ctx, host.File{Path: redisconf.ConfigPath, Content: conf, Mode: 0o640,
		Owner: redisConfOwner, Group: "redis", Secret: true})
	if err != nil {
		return nil, nil, err
	}
	if cc != nil && had != nil && !bytes.Equal(had, owned) {
		cc.Diff = host.UnifiedDiff(redisconf.OwnedPath, redactAuth(had), redactAuth(owned), true)
	} else if cc != nil && !bytes.Equal(live, conf) {
		cc.Diff = host.UnifiedDiff(redisconf.ConfigPath, redactAuth(live), redactAuth(conf), live != nil)
	}
	// Root's alone: it holds masterauth too.
	oc, err := h.EnsureFile(ctx, host.File{Path: redisconf.OwnedPath, Content: owned, Mode: 0o600, Secret: true})
	if err != nil {
		return nil, nil, err
	}
	changes = []*host.Change{d, cc, oc}
	if cc == nil {
		return changes, nil, nil
	}
	if !ownedChanged || sameButReplicaof(live, conf) {
		// Only the replicaof line moved (the live master changed, by a
		// failover or a switchover, and the rewrite did not reach the
		// file), or the file is Redis' rewrite of what provision still
		// owns: Redis already runs that way if it follows the live
		// master, and a restart would only drop its clients.
		if ok, err := s.runsAs(ctx, h, n); err != nil {
			return nil, nil, err
		} else if ok {
			return changes, nil, nil
		}
	}
	return changes, cc, nil
}

// removeDropIn removes a systemd drop-in provision no longer writes and
// reloads systemd; file is the removal, on which the caller restarts the
// unit, other the reload.
func removeDropIn(ctx context.Context, h host.Host, path string) (file *host.Change, other []*host.Change, err error) {
	_, exists, err := readFile(ctx, h, path)
	if err != nil || !exists {
		return nil, nil, err
	}
	file, err = h.Exec(ctx, "remove "+path, "rm", "-f", "--", path)
	if err != nil {
		return nil, nil, err
	}
	reload, err := h.Exec(ctx, "reload systemd units", "systemctl", "daemon-reload")
	return file, []*host.Change{reload}, err
}

// ensureMode sets a file's mode:owner:group (as stat -c %a:%U:%G prints
// it) without touching its content.
func ensureMode(ctx context.Context, h host.Host, path, want string) ([]*host.Change, error) {
	out, err := h.Query(ctx, statArgv(path)...)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	have := strings.TrimSpace(string(out))
	if have == want || have == "" {
		return nil, nil
	}
	mode, owner, _ := strings.Cut(want, ":")
	what := fmt.Sprintf("set %s to %s (was %s)", path, want, have)
	oc, err := h.Exec(ctx, what+": owner", "chown", "--", owner, path)
	if err != nil {
		return nil, err
	}
	mc, err := h.Exec(ctx, what+": mode", "chmod", "--", mode, path)
	return []*host.Change{oc, mc}, err
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
		CounterctlPassword:  s.c.SentinelAdminPassword, // one secret for counterctl on Redis and Sentinel
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
