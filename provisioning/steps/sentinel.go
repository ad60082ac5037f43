package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/redisconf"
	"counter/provisioning/sentinel"
)

// sentinelUnit is Debian's unit for Redis Sentinel.
const sentinelUnit = "redis-sentinel.service"

// SentinelDropIn lets Debian's hardened unit (NoExecPaths=/) run the
// failover hook: a shell script, logger, and the hooks in
// redisconf.FailoverHookDir; and runs redisconf.SentinelTune after each
// start.
const SentinelDropIn = "/etc/systemd/system/redis-sentinel.service.d/counter.conf"

var sentinelDropIn = []byte(`# Written by counterctl provision: Sentinel's client-reconfig-script
# (` + redisconf.FailoverHook + `) is a shell script that runs logger and the
# hooks in ` + redisconf.FailoverHookDir + `.
[Service]
ExecPaths=-/etc/counter /bin /usr/bin -/usr/local/bin
# Settings sentinel.conf cannot hold (the INFO period that keeps the
# mirror first in the promotion order), set at every start, as root ("+"):
# it reads counterctl's password on the sentinel.
ExecStartPost=+` + redisconf.SentinelTune + `
`)

// Sentinel configures Redis Sentinel on the node: sentinel.conf for the
// live master, the failover hook and its directory, and the service.
//
// Sentinel rewrites sentinel.conf itself (the master after a failover,
// the replicas and sentinels it found, epochs), so provision never
// compares with it: it keeps its own copy of what it owns
// (redisconf.SentinelOwnedPath: everything but the master's address) and
// rewrites sentinel.conf, keeping Sentinel's state lines, only when that
// copy changes, or when the file no longer monitors the cluster. A run
// after a failover changes nothing and restarts nothing.
type Sentinel struct{ c *Cluster }

// Title names the step in reports.
func (Sentinel) Title() string { return "sentinel" }

// Run brings Sentinel's files and service up to date.
func (s Sentinel) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	conf, err := s.render(n)
	if err != nil {
		return phase.Result{}, err
	}
	var changes []*host.Change
	for _, d := range []string{"/etc/counter", redisconf.FailoverHookDir} {
		c, err := ensureDir(ctx, h, d, 0o755, "root", "root")
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c)
	}
	hook, err := h.EnsureFile(ctx, host.File{Path: redisconf.FailoverHook,
		Content: redisconf.FailoverHookScript(redisconf.FailoverHookDir), Mode: 0o755})
	if err != nil {
		return phase.Result{}, err
	}
	dropIn, unitChanges, err := ensureDropIn(ctx, h, SentinelDropIn, sentinelDropIn)
	if err != nil {
		return phase.Result{}, err
	}
	// counterctl's password on the sentinels, for redis-cli as root on the
	// node (provisioning/sentinel): no secret crosses an argv.
	pw, err := h.EnsureFile(ctx, host.File{Path: sentinel.PasswordFile, Content: []byte(s.c.SentinelAdminPassword + "\n"), Mode: 0o600, Secret: true})
	if err != nil {
		return phase.Result{}, err
	}
	// Run at every start (the drop-in): a new script restarts Sentinel.
	tune, err := h.EnsureFile(ctx, host.File{Path: redisconf.SentinelTune,
		Content: sentinel.TuneScript(sentinel.Provisioned()), Mode: 0o700})
	if err != nil {
		return phase.Result{}, err
	}
	changes = append(append(changes, hook, pw, tune), unitChanges...)

	// The TLS certificate is Redis' (the Redis step renews it); Sentinel
	// reads it at start, so a new one is a change of what provision owns.
	cert, _, err := readFile(ctx, h, redisconf.DebianPaths().TLSCertFile)
	if err != nil {
		return phase.Result{}, err
	}
	sum := sha256.Sum256(cert)
	owned := append(redisconf.SentinelOwned(conf, s.c.Inv.Cluster),
		"# TLS certificate sha256 "+hex.EncodeToString(sum[:])+"\n"...)
	had, _, err := readFile(ctx, h, redisconf.SentinelOwnedPath)
	if err != nil {
		return phase.Result{}, err
	}
	live, _, err := readFile(ctx, h, redisconf.SentinelConfigPath)
	if err != nil {
		return phase.Result{}, err
	}
	var restartOn []*host.Change
	if !bytes.Equal(had, owned) || !monitors(live, s.c.Inv.Cluster) {
		c, err := s.write(ctx, h, conf, had, owned)
		if err != nil {
			return phase.Result{}, err
		}
		changes = append(changes, c...)
		restartOn = c
	}
	run, err := ensureRunning(ctx, h, sentinelUnit, append(restartOn, dropIn, tune)...)
	if err != nil {
		return phase.Result{}, err
	}
	changes = append(append(changes, dropIn), run...)
	return phase.Collect(changes...), nil
}

// write replaces sentinel.conf with conf plus the state Sentinel wrote
// into the old one, then records what provision owns. Sentinel is stopped
// first: it writes its whole file from memory on every event, which
// would undo a file changed under it.
func (s Sentinel) write(ctx context.Context, h host.Host, conf, had, owned []byte) ([]*host.Change, error) {
	var out []*host.Change
	if !h.DryRun() {
		if _, active, err := unitState(ctx, h, sentinelUnit); err != nil {
			return nil, err
		} else if active {
			c, err := h.Exec(ctx, "stop "+sentinelUnit+" to rewrite its configuration", "systemctl", "stop", "--", sentinelUnit)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	live, _, err := readFile(ctx, h, redisconf.SentinelConfigPath)
	if err != nil {
		return nil, err
	}
	full := redisconf.MergeSentinel(conf, live, s.c.Inv.Cluster)
	// Sentinel must be able to rewrite its file: redis owns it. It holds
	// auth-pass and sentinel-pass in clear: no diff of it is shown.
	cc, err := h.EnsureFile(ctx, host.File{Path: redisconf.SentinelConfigPath, Content: full, Mode: 0o640,
		Owner: "redis", Group: "redis", Secret: true})
	if err != nil {
		return nil, err
	}
	if cc == nil {
		cc = &host.Change{What: "rewrite " + redisconf.SentinelConfigPath}
	}
	if !bytes.Equal(had, owned) {
		cc.Diff = host.UnifiedDiff(redisconf.SentinelOwnedPath, redisconf.RedactSentinel(had), redisconf.RedactSentinel(owned), had != nil)
	}
	oc, err := h.EnsureFile(ctx, host.File{Path: redisconf.SentinelOwnedPath, Content: owned, Mode: 0o600, Secret: true})
	if err != nil {
		return nil, err
	}
	return append(out, cc, oc), nil
}

// render is n's sentinel.conf with the live master.
func (s Sentinel) render(n inventory.Node) ([]byte, error) {
	addr, err := s.c.addr(n)
	if err != nil {
		return nil, err
	}
	m := s.c.master()
	maddr, err := s.c.addr(m)
	if err != nil {
		return nil, err
	}
	role := s.c.Inv.SentinelRoles()[n.Name]
	return redisconf.RenderSentinel(redisconf.SentinelParams{
		Node: n.Name, Name: s.c.Inv.Cluster,
		Bind: []netip.Addr{addr}, AnnounceIP: addr,
		Master: maddr, Quorum: role.Quorum, DownAfter: downAfter(role.Wait),
		// Replicas keep serving (stale) reads while they resync, and after
		// a failover they mostly continue by partial resync: repoint them
		// all at once.
		ParallelSyncs:    max(1, len(s.c.Inv.Nodes)-2),
		RedisPassword:    s.c.SentinelPassword,
		PeerPassword:     s.c.SentinelPeerPassword,
		CounterdPassword: s.c.CounterdPassword,
		AdminPassword:    s.c.SentinelAdminPassword,
	})
}

// monitors reports whether a sentinel.conf watches the cluster's master
// (Debian's default file watches "mymaster").
func monitors(conf []byte, name string) bool {
	for line := range strings.Lines(string(conf)) {
		if f := strings.Fields(line); len(f) == 6 && f[0] == "sentinel" && f[1] == "monitor" && f[2] == name {
			return true
		}
	}
	return false
}

// SentinelAddrs are the host:port of every node's sentinel.
func (c *Cluster) SentinelAddrs() ([]string, error) {
	var out []string
	for _, n := range c.Inv.Nodes {
		a, err := c.addr(n)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.AddrPortFrom(a, redisconf.SentinelPort).String())
	}
	return out, nil
}

// downAfter is the down-after-milliseconds of a sentinel's place in the
// stagger (inventory.SentinelRoles).
func downAfter(w inventory.SentinelWait) time.Duration {
	switch w {
	case inventory.WaitFirst:
		return redisconf.DownAfterFirst
	case inventory.WaitSecond:
		return redisconf.DownAfterSecond
	}
	return redisconf.DownAfter
}
