// Package probe gathers the facts about one cluster node that `counterctl
// health` grades (and `counterctl status` shows): SSH reachability, the
// node's clock, Redis INFO, RAM, disk, TLS certificates, the RAID check's
// state file, the installed counter version, and counterd's /readyz,
// /getvalue and page.
//
// Node facts come over SSH as argv commands and file reads (replicas through
// the master, as everywhere in counterctl); counterd is asked over HTTP at
// the node's address, the way a visitor reaches it. Each fact carries its
// own error, so one broken source never hides the others.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/raid"
	"counter/provisioning/redisconf"
	"counter/provisioning/sshx"
)

// Dialer returns a node's SSH connection; *host.Connector is one.
type Dialer interface {
	Client(ctx context.Context, n inventory.Node) (*sshx.Client, error)
}

// Options say where things are on a node. Zero fields take the layout
// `counterctl provision` installs (see Defaults).
type Options struct {
	HTTPPort int // counterd's plain-HTTP port on the node address
	// RootCAs verify counterd's HTTPS, where its plain port redirects
	// every route but /healthz and /readyz: the cluster CA (and the system
	// roots, for a certificate from a public CA). nil: the system roots.
	RootCAs *x509.CertPool
	// ServerName is the name counterd's certificate is checked for; empty:
	// the node's address. A certificate the inventory names (https:) is
	// for the service's names, not each node's address.
	ServerName string
	// HTTPTimeout bounds each request, so a silent node costs this, not the run's budget.
	HTTPTimeout time.Duration
	RedisSocket string // Redis's unix socket, reached as root
	RedisUser   string // an ACL user allowed INFO
	// RedisPasswordFile holds that user's password on the node; it is read
	// as root and handed to redis-cli on stdin, never in an argv, so the
	// checker needs no copy of the cluster's secrets.
	RedisPasswordFile string
	MemInfo           string
	DiskPaths         []string // free space is reported for each
	CertPaths         []string // PEM certificates whose expiry matters
	RAIDState         string   // the RAID check's JSON report
	Package           string   // Debian package whose version is reported
}

// Defaults are the paths and names of a provisioned node.
func Defaults() Options {
	p := redisconf.DebianPaths()
	return Options{
		HTTPPort:    80,
		HTTPTimeout: 10 * time.Second,
		RedisSocket: p.UnixSocket,
		RedisUser:   "counterd",
		// Where provision puts counterd's password (steps.CounterdPassword).
		RedisPasswordFile: "/etc/counterd/redis.pass",
		MemInfo:           "/proc/meminfo",
		DiskPaths:         []string{"/", p.Dir},
		// Redis's own certificate, and the one counterd presents to Redis:
		// either expiring stops reads or replication; counterd's HTTPS
		// certificate, which browsers refuse once expired.
		CertPaths: []string{p.TLSCertFile, "/etc/counterd/tls/redis-client.crt", "/etc/counterd/tls/https.crt"},
		RAIDState: raid.DefaultStatePath,
		Package:   "counter",
	}
}

func (o Options) withDefaults() Options {
	d := Defaults()
	if o.HTTPPort == 0 {
		o.HTTPPort = d.HTTPPort
	}
	if o.HTTPTimeout == 0 {
		o.HTTPTimeout = d.HTTPTimeout
	}
	if o.RedisSocket == "" {
		o.RedisSocket = d.RedisSocket
	}
	if o.RedisUser == "" {
		o.RedisUser = d.RedisUser
	}
	if o.RedisPasswordFile == "" {
		o.RedisPasswordFile = d.RedisPasswordFile
	}
	if o.MemInfo == "" {
		o.MemInfo = d.MemInfo
	}
	if o.DiskPaths == nil {
		o.DiskPaths = d.DiskPaths
	}
	if o.CertPaths == nil {
		o.CertPaths = d.CertPaths
	}
	if o.RAIDState == "" {
		o.RAIDState = d.RAIDState
	}
	if o.Package == "" {
		o.Package = d.Package
	}
	return o
}

// ErrNoSSH marks facts that were not gathered because SSH to the node failed.
var ErrNoSSH = errors.New("not checked: no SSH connection")

// Fact is one gathered value or why it could not be had.
type Fact[T any] struct {
	V   T
	Err error
}

// Facts is everything one Probe learned about a node.
type Facts struct {
	Node    inventory.Node
	SSH     Fact[time.Duration] // time to connect (or reuse the connection)
	Clock   Fact[Clock]
	Redis   Fact[RedisInfo]
	Memory  Fact[uint64] // MemTotal in bytes
	Disks   Fact[[]Disk]
	Certs   Fact[[]Cert]
	RAID    Fact[RAIDState]
	Version Fact[string] // the counter package's version; "" if not installed
	Ready   Fact[HTTPAnswer]
	Value   Fact[int64] // /getvalue
	Page    Fact[int64] // the value shown on the page
}

// Prober gathers Facts. It is safe for concurrent use.
type Prober struct {
	ssh  Dialer
	http *http.Client
	opts Options
	now  func() time.Time
}

// New returns a Prober reaching nodes through d; now is the local clock the
// node clocks are compared with.
func New(d Dialer, opts Options, now func() time.Time) *Prober {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // the nodes themselves, never a proxy's view of them
	t.DisableKeepAlives = true
	opts = opts.withDefaults()
	t.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, ServerName: opts.ServerName, MinVersion: tls.VersionTLS12}
	return &Prober{ssh: d, http: &http.Client{
		Transport:     t,
		Timeout:       opts.HTTPTimeout,
		CheckRedirect: toHTTPSOnly,
	}, opts: opts, now: now}
}

// toHTTPSOnly follows counterd's one redirect, from its plain port to
// HTTPS on the same node, and no other: the probe reports on that node.
func toHTTPSOnly(r *http.Request, via []*http.Request) error {
	if len(via) == 1 && r.URL.Scheme == "https" && r.URL.Hostname() == via[0].URL.Hostname() {
		return nil
	}
	return http.ErrUseLastResponse
}

// Probe gathers every fact about n, in parallel, until ctx ends; facts still
// missing then carry ctx's error.
func (p *Prober) Probe(ctx context.Context, n inventory.Node) *Facts {
	f := &Facts{Node: n}
	var wg sync.WaitGroup
	wg.Go(func() { f.Ready = p.readyz(ctx, n) })
	wg.Go(func() { f.Value = p.Value(ctx, n) })
	wg.Go(func() { f.Page = p.Page(ctx, n) })

	start := p.now()
	cl, err := p.ssh.Client(ctx, n)
	f.SSH = Fact[time.Duration]{V: p.now().Sub(start), Err: err}
	if err != nil {
		noSSH := ErrNoSSH
		f.Clock.Err, f.Redis.Err, f.Memory.Err, f.Disks.Err = noSSH, noSSH, noSSH, noSSH
		f.Certs.Err, f.RAID.Err, f.Version.Err = noSSH, noSSH, noSSH
		wg.Wait()
		return f
	}
	wg.Go(func() { f.Clock = p.clock(ctx, cl) })
	wg.Go(func() { f.Redis = p.redis(ctx, cl) })
	wg.Go(func() { f.Memory = p.memTotal(ctx, cl) })
	wg.Go(func() { f.Disks = p.disks(ctx, cl) })
	wg.Go(func() { f.Certs = p.certs(ctx, cl) })
	wg.Go(func() { f.RAID = p.raid(ctx, cl) })
	wg.Go(func() { f.Version = p.version(ctx, cl) })
	wg.Wait()
	return f
}
