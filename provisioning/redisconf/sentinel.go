package redisconf

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
	"time"
)

// Sentinel on every data node, as Debian's redis-sentinel package runs it.
const (
	// SentinelPort is Sentinel's TLS port on every node.
	SentinelPort = 26379
	// SentinelConfigPath is the file Debian's unit starts Sentinel with.
	SentinelConfigPath = "/etc/redis/sentinel.conf"
	// SentinelOwnedPath is provision's copy of what it last wrote to
	// SentinelConfigPath, without the master's address: provision compares
	// against it, never against the file Sentinel rewrites.
	SentinelOwnedPath = "/etc/counter/sentinel.conf"
	// FailoverHookDir holds executables run on every promotion.
	FailoverHookDir = "/etc/counter/failover.d"
	// FailoverHook is Sentinel's client-reconfig-script.
	FailoverHook = "/etc/counter/failover-hook"
)

// Sentinel timings for the WAN (docs/failover.md says why).
const (
	// DownAfter is how long a master must not answer before a sentinel
	// sees it down; DownAfterFirst and DownAfterSecond the same for the
	// sentinels that inventory.SentinelRoles puts first and second. Each gap
	// is the time the one before has to be elected before the next can ask
	// for votes: seeing the master down (a PingPeriod of jitter, plus the
	// one-way delay of the last answer), learning that enough others do (an
	// AskPeriod and a round trip: 200 ms to sa, 220 ms from na to asia in
	// the lab), and its vote request crossing the WAN (up to 145 ms one
	// way). Worked through in docs/failover.md, "Timings".
	DownAfterFirst  = time.Second
	DownAfterSecond = 2250 * time.Millisecond
	DownAfter       = 3500 * time.Millisecond
	FailoverTimeout = 10 * time.Second
	// InfoPeriod is how often each sentinel sends INFO to every replica
	// (SENTINEL DEBUG info-period; Redis' default is 10 s, and it is not
	// a sentinel.conf setting). When the master is down, Sentinel skips
	// any replica whose last INFO reply is older than 5 s, and only starts
	// asking every second once the master is objectively down: with 10 s,
	// a far leader elected before the mirror's fresh reply crossed the WAN
	// would skip the live mirror and promote a continental replica.
	InfoPeriod = time.Second
	// PingPeriod is how often a sentinel pings what it watches (SENTINEL
	// DEBUG ping-period; default 1 s). A sentinel sees the master down
	// down-after from its oldest unanswered ping: with 1 s the moment
	// varied by a second between sentinels, more than the stagger above.
	PingPeriod = 250 * time.Millisecond
	// AskPeriod is how often a sentinel that sees the master down asks the
	// others (SENTINEL DEBUG ask-period; default 1 s). Their "down" answers
	// are only forgotten 5 periods after the last one, and a failover does
	// not forget them: with 1 s, a sentinel whose new connection to the
	// just promoted mirror had not answered within down-after counted the
	// others' answers about the dead old master, declared the mirror
	// objectively down at once, and failed over to a continental replica
	// (docs/chaos.md, scenario 1). 5 × 150 ms is less than DownAfterFirst,
	// so those answers are gone before a new connection can look down.
	AskPeriod = 150 * time.Millisecond
)

// SentinelTune is a root-only script that redis-sentinel.service runs
// after every start (ExecStartPost=+, steps.SentinelDropIn): it sets what
// sentinel.conf cannot hold, InfoPeriod, PingPeriod and AskPeriod, through the local
// sentinel as the ACL user counterctl.
const SentinelTune = "/etc/counter/sentinel-tune"

// SentinelParams describe one node's Sentinel.
type SentinelParams struct {
	Node string
	Name string // the master's name: the inventory's cluster
	// Bind are the node's addresses besides loopback; AnnounceIP is the one
	// other sentinels and clients are told.
	Bind       []netip.Addr
	AnnounceIP netip.Addr
	Port       int // default SentinelPort

	// Master is the live master's IP address; MasterPort its Redis port.
	Master     netip.Addr
	MasterPort int // default DefaultPort
	Quorum     int
	// ParallelSyncs: replicas repointed at once after a failover.
	ParallelSyncs int

	// RedisPassword is the nodes' ACL user sentinel's; PeerPassword the
	// sentinels' user sentinel-peer's; CounterdPassword the same as on
	// Redis (counterd logs in to both with one); AdminPassword counterctl's.
	RedisPassword, PeerPassword, CounterdPassword, AdminPassword string

	DownAfter, FailoverTimeout time.Duration // 0: the constants above
	Paths                      SentinelPaths
}

// SentinelPaths are what sentinel.conf names; empty fields take Debian's.
type SentinelPaths struct {
	Dir, LogFile, PIDFile              string
	TLSCertFile, TLSKeyFile, TLSCAFile string
	ReconfigScript                     string
}

// DebianSentinelPaths is the layout of Debian's redis-sentinel package,
// with Redis' TLS files (the unit runs as user redis, which reads them).
func DebianSentinelPaths() SentinelPaths {
	r := DebianPaths()
	return SentinelPaths{
		Dir: "/var/lib/redis", LogFile: "/var/log/redis/redis-sentinel.log",
		PIDFile:     "/run/sentinel/redis-sentinel.pid",
		TLSCertFile: r.TLSCertFile, TLSKeyFile: r.TLSKeyFile, TLSCAFile: r.TLSCAFile,
		ReconfigScript: FailoverHook,
	}
}

// Sentinel ACL command lists (Redis 7.0: no CLIENT SETINFO yet).
var (
	// What go-redis' FailoverClient sends a sentinel (CONTRACT.md).
	sentinelCounterdCommands = []string{
		"hello", "ping", "client|setname",
		"sentinel|get-master-addr-by-name", "sentinel|sentinels", "sentinel|replicas",
		"sentinel|slaves", "sentinel|master",
		"subscribe", "psubscribe", "unsubscribe", "punsubscribe",
	}
	// counterctl's reads, the manual way out after a total outage, and
	// SentinelTune.
	sentinelAdminCommands = []string{
		"hello", "ping", "info",
		"sentinel|get-master-addr-by-name", "sentinel|ckquorum", "sentinel|master",
		"sentinel|masters", "sentinel|sentinels", "sentinel|replicas", "sentinel|slaves",
		"sentinel|myid", "sentinel|reset", "sentinel|failover",
		// SentinelTune's runtime settings (and reading them back).
		"sentinel|debug",
	}
	// What one sentinel sends another: PING, hello on PUBLISH, votes.
	sentinelPeerCommands = []string{
		"ping", "publish", "client|setname", "sentinel|is-master-down-by-addr",
	}
)

//go:embed sentinel.conf.tmpl
var sentinelTemplate string

var sentinelTmpl = template.Must(template.New("sentinel.conf").Option("missingkey=error").Parse(sentinelTemplate))

func (p SentinelParams) withDefaults() SentinelParams {
	if p.Port == 0 {
		p.Port = SentinelPort
	}
	if p.MasterPort == 0 {
		p.MasterPort = DefaultPort
	}
	if p.DownAfter == 0 {
		p.DownAfter = DownAfter
	}
	if p.FailoverTimeout == 0 {
		p.FailoverTimeout = FailoverTimeout
	}
	if p.ParallelSyncs == 0 {
		p.ParallelSyncs = 1
	}
	d := DebianSentinelPaths()
	for _, f := range []struct{ v, def *string }{
		{&p.Paths.Dir, &d.Dir}, {&p.Paths.LogFile, &d.LogFile}, {&p.Paths.PIDFile, &d.PIDFile},
		{&p.Paths.TLSCertFile, &d.TLSCertFile}, {&p.Paths.TLSKeyFile, &d.TLSKeyFile},
		{&p.Paths.TLSCAFile, &d.TLSCAFile}, {&p.Paths.ReconfigScript, &d.ReconfigScript},
	} {
		if *f.v == "" {
			*f.v = *f.def
		}
	}
	return p
}

func (p SentinelParams) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !nodeNameRE.MatchString(p.Node) {
		bad("Node", "%q is not a node name", p.Node)
	}
	if !nodeNameRE.MatchString(p.Name) {
		bad("Name", "%q is not a cluster name", p.Name)
	}
	addr := func(field string, a netip.Addr) {
		if !a.IsValid() || a.IsUnspecified() || a.Zone() != "" {
			bad(field, "%v is not a usable address", a)
		}
	}
	if len(p.Bind) == 0 {
		bad("Bind", "empty: other sentinels could not reach this one")
	}
	for i, a := range p.Bind {
		addr(fmt.Sprintf("Bind[%d]", i), a)
	}
	addr("AnnounceIP", p.AnnounceIP)
	addr("Master", p.Master)
	checkPort(bad, "Port", p.Port)
	checkPort(bad, "MasterPort", p.MasterPort)
	if p.Quorum < 1 {
		bad("Quorum", "%d: want at least 1", p.Quorum)
	}
	if p.ParallelSyncs < 1 {
		bad("ParallelSyncs", "%d: want at least 1", p.ParallelSyncs)
	}
	pws := map[string]string{}
	for _, f := range []struct{ name, v string }{
		{"RedisPassword", p.RedisPassword}, {"PeerPassword", p.PeerPassword},
		{"CounterdPassword", p.CounterdPassword}, {"AdminPassword", p.AdminPassword},
	} {
		checkPassword(bad, f.name, f.v)
		if other, dup := pws[f.v]; dup && f.v != "" {
			bad(f.name, "same as %s: each user needs its own secret", other)
		}
		pws[f.v] = f.name
	}
	for _, f := range []struct{ name, v string }{
		{"Paths.Dir", p.Paths.Dir}, {"Paths.LogFile", p.Paths.LogFile}, {"Paths.PIDFile", p.Paths.PIDFile},
		{"Paths.TLSCertFile", p.Paths.TLSCertFile}, {"Paths.TLSKeyFile", p.Paths.TLSKeyFile},
		{"Paths.TLSCAFile", p.Paths.TLSCAFile}, {"Paths.ReconfigScript", p.Paths.ReconfigScript},
	} {
		if !pathRE.MatchString(f.v) {
			bad(f.name, "%q: want an absolute path of A-Z a-z 0-9 / . _ + -", f.v)
		}
	}
	if p.DownAfter < 100*time.Millisecond || p.FailoverTimeout < p.DownAfter {
		bad("DownAfter", "%s with failover-timeout %s: want at least 100ms, and the timeout longer", p.DownAfter, p.FailoverTimeout)
	}
	return errors.Join(errs...)
}

// RenderSentinel returns sentinel.conf for p as provision writes it.
func RenderSentinel(p SentinelParams) ([]byte, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return nil, err
	}
	bind := []string{"127.0.0.1", "-::1"}
	for _, a := range p.Bind {
		bind = append(bind, a.Unmap().String())
	}
	data := map[string]any{
		"ConfigPath": SentinelConfigPath, "OwnedPath": SentinelOwnedPath, "HookDir": FailoverHookDir,
		"Node": p.Node, "Name": p.Name, "Bind": strings.Join(bind, " "), "Port": p.Port,
		"AnnounceIP": p.AnnounceIP.Unmap().String(), "Paths": p.Paths,
		"Master": p.Master.Unmap().String(), "MasterPort": p.MasterPort, "Quorum": p.Quorum,
		"DownAfter": p.DownAfter.Milliseconds(), "FailoverTimeout": p.FailoverTimeout.Milliseconds(),
		"ParallelSyncs": p.ParallelSyncs,
		"CounterdHash":  sha256Hex(p.CounterdPassword), "AdminHash": sha256Hex(p.AdminPassword),
		"PeerHash":         sha256Hex(p.PeerPassword),
		"CounterdCommands": "-@all +" + strings.Join(sentinelCounterdCommands, " +"),
		"AdminCommands":    "-@all +" + strings.Join(sentinelAdminCommands, " +"),
		"PeerCommands":     "-@all +" + strings.Join(sentinelPeerCommands, " +"),
		"PeerPassword":     quote(p.PeerPassword), "RedisPassword": quote(p.RedisPassword),
	}
	var buf bytes.Buffer
	if err := sentinelTmpl.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render sentinel.conf: %w", err)
	}
	return buf.Bytes(), nil
}

// SentinelOwned is the part of a rendered sentinel.conf that provision
// owns: all of it but the master's address on the monitor line, which
// Sentinel itself moves on a failover. Provision keeps this copy and
// rewrites sentinel.conf only when it changes.
func SentinelOwned(conf []byte, name string) []byte {
	lines := strings.SplitAfter(string(conf), "\n")
	prefix := "sentinel monitor " + name + " "
	for i, l := range lines {
		if f := strings.Fields(l); strings.HasPrefix(l, prefix) && len(f) == 6 {
			lines[i] = strings.Join([]string{f[0], f[1], f[2], "(live-master)", f[4], f[5]}, " ") + "\n"
		}
	}
	return []byte(strings.Join(lines, ""))
}

// sentinelState are the lines Sentinel writes about what it learnt: its
// id, the epochs, the replicas and sentinels it found. Provision keeps
// them when it rewrites the file, so the sentinel restarts knowing them.
var sentinelState = []string{
	"sentinel myid ", "sentinel current-epoch ", "sentinel config-epoch ", "sentinel leader-epoch ",
	"sentinel known-replica ", "sentinel known-sentinel ",
}

// MergeSentinel is conf (freshly rendered) plus the state lines Sentinel
// wrote into old, the file on the node; for the monitored master only,
// so a renamed cluster starts clean.
func MergeSentinel(conf, old []byte, name string) []byte {
	var keep []string
	for line := range strings.Lines(string(old)) {
		l := strings.TrimSpace(line)
		for _, p := range sentinelState {
			if !strings.HasPrefix(l, p) {
				continue
			}
			f := strings.Fields(l)
			if p == "sentinel myid " || p == "sentinel current-epoch " || (len(f) > 2 && f[2] == name) {
				keep = append(keep, l)
			}
			break
		}
	}
	if len(keep) == 0 {
		return conf
	}
	out := bytes.NewBuffer(append([]byte(nil), conf...))
	out.WriteString("\n# --- Written by Sentinel: what it learnt (kept by provision) ---\n")
	for _, l := range keep {
		out.WriteString(l + "\n")
	}
	return out.Bytes()
}

// RedactSentinel hides the clear passwords of a sentinel.conf for diffs.
func RedactSentinel(conf []byte) []byte {
	lines := strings.SplitAfter(string(conf), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == "sentinel" && f[1] == "sentinel-pass":
			lines[i] = "sentinel sentinel-pass (secret, not shown)\n"
		case len(f) >= 4 && f[0] == "sentinel" && f[1] == "auth-pass":
			lines[i] = "sentinel auth-pass " + f[2] + " (secret, not shown)\n"
		}
	}
	return []byte(strings.Join(lines, ""))
}
