package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"counter/provisioning/raid"
	"counter/provisioning/sshx"
)

// Clock is the node's clock against the local one.
type Clock struct {
	// Offset is node time minus local time at the midpoint of the round trip;
	// the true offset is within RTT/2 of it.
	Offset time.Duration
	RTT    time.Duration
}

func (p *Prober) clock(ctx context.Context, cl *sshx.Client) Fact[Clock] {
	t0 := p.now()
	out, err := cl.Run(ctx, []string{"date", "+%s.%N"}, sshx.RunOptions{})
	t1 := p.now()
	if err != nil {
		return Fact[Clock]{Err: fmt.Errorf("read clock: %w", err)}
	}
	remote, err := parseEpoch(strings.TrimSpace(string(out.Stdout)))
	if err != nil {
		return Fact[Clock]{Err: fmt.Errorf("read clock: %w", err)}
	}
	rtt := t1.Sub(t0)
	return Fact[Clock]{V: Clock{Offset: remote.Sub(t0.Add(rtt / 2)), RTT: rtt}}
}

// parseEpoch reads `date +%s.%N` without going through float64, which
// would lose the microseconds.
func parseEpoch(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err1 := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000000")[:9]
	nanos, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || len(sec) == 0 {
		return time.Time{}, fmt.Errorf("not seconds.nanoseconds: %q", s)
	}
	return time.Unix(secs, nanos), nil
}

func (p *Prober) memTotal(ctx context.Context, cl *sshx.Client) Fact[uint64] {
	b, ok, err := cl.ReadFile(ctx, p.opts.MemInfo)
	if err == nil && !ok {
		err = errors.New("missing")
	}
	if err != nil {
		return Fact[uint64]{Err: fmt.Errorf("%s: %w", p.opts.MemInfo, err)}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// MemTotal:       16318412 kB
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil || kb == 0 {
				break
			}
			return Fact[uint64]{V: kb * 1024}
		}
	}
	return Fact[uint64]{Err: fmt.Errorf("%s: no \"MemTotal: N kB\" line", p.opts.MemInfo)}
}

// Disk is the space of the filesystem holding Path.
type Disk struct {
	Path        string
	Size, Avail uint64 // bytes; Avail is what unprivileged writers get
}

// disks asks stat(1) for block counts: one numeric line per path, nothing
// to mis-split the way df's mount point column can be.
func (p *Prober) disks(ctx context.Context, cl *sshx.Client) Fact[[]Disk] {
	argv := append([]string{"stat", "-f", "-c", "%S %b %a", "--"}, p.opts.DiskPaths...)
	out, err := cl.Run(ctx, argv, sshx.RunOptions{})
	if err != nil {
		return Fact[[]Disk]{Err: fmt.Errorf("disk space: %w", err)}
	}
	lines := strings.Split(strings.TrimSpace(string(out.Stdout)), "\n")
	if len(lines) != len(p.opts.DiskPaths) {
		return Fact[[]Disk]{Err: fmt.Errorf("disk space: %d lines for %d paths: %q", len(lines), len(p.opts.DiskPaths), out.Stdout)}
	}
	var disks []Disk
	for i, l := range lines {
		var bsize, blocks, avail uint64
		if n, err := fmt.Sscanf(l, "%d %d %d", &bsize, &blocks, &avail); n != 3 || err != nil {
			return Fact[[]Disk]{Err: fmt.Errorf("disk space of %s: unexpected %q", p.opts.DiskPaths[i], l)}
		}
		disks = append(disks, Disk{Path: p.opts.DiskPaths[i], Size: bsize * blocks, Avail: bsize * avail})
	}
	return Fact[[]Disk]{V: disks}
}

// Cert is one certificate found on the node.
type Cert struct {
	Path     string
	Subject  string
	NotAfter time.Time
}

func (p *Prober) certs(ctx context.Context, cl *sshx.Client) Fact[[]Cert] {
	var certs []Cert
	var errs []error
	for _, path := range p.opts.CertPaths {
		b, ok, err := cl.ReadFile(ctx, path)
		if err == nil && !ok {
			err = errors.New("missing")
		}
		if err == nil {
			var c Cert
			if c, err = parseCert(b); err == nil {
				c.Path = path
				certs = append(certs, c)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return Fact[[]Cert]{V: certs, Err: errors.Join(errs...)}
}

func parseCert(b []byte) (Cert, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return Cert{}, errors.New("no PEM certificate")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return Cert{}, err
	}
	return Cert{Subject: c.Subject.CommonName, NotAfter: c.NotAfter}, nil
}

// RAIDState is the RAID check's last report on the node.
type RAIDState struct {
	Path    string       // the state file
	Report  *raid.Report // nil when Missing
	Missing bool         // no state file: the timer never ran
}

func (p *Prober) raid(ctx context.Context, cl *sshx.Client) Fact[RAIDState] {
	b, ok, err := cl.ReadFile(ctx, p.opts.RAIDState)
	if err != nil {
		return Fact[RAIDState]{Err: err}
	}
	if !ok {
		return Fact[RAIDState]{V: RAIDState{Path: p.opts.RAIDState, Missing: true}}
	}
	var r raid.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return Fact[RAIDState]{Err: fmt.Errorf("%s: %w", p.opts.RAIDState, err)}
	}
	if r.CheckedAt.IsZero() {
		return Fact[RAIDState]{Err: fmt.Errorf("%s: no checked_at", p.opts.RAIDState)}
	}
	return Fact[RAIDState]{V: RAIDState{Path: p.opts.RAIDState, Report: &r}}
}

func (p *Prober) version(ctx context.Context, cl *sshx.Client) Fact[string] {
	out, err := cl.Run(ctx, []string{"dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}", "--", p.opts.Package}, sshx.RunOptions{})
	var xe *sshx.ExitError
	if errors.As(err, &xe) && xe.Code == 1 {
		return Fact[string]{} // dpkg has never heard of it: not installed
	}
	if err != nil {
		return Fact[string]{Err: fmt.Errorf("package version: %w", err)}
	}
	status, v, _ := strings.Cut(strings.TrimSpace(string(out.Stdout)), " ")
	if status != "installed" {
		return Fact[string]{}
	}
	return Fact[string]{V: v}
}
