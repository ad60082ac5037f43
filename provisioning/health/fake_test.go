package health

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/probe"
	"counter/provisioning/raid"
)

// fakeProber serves prepared facts; values lists what successive reads of
// a node's /getvalue and page return (the last one repeats).
type fakeProber struct {
	facts map[string]*probe.Facts

	mu     sync.Mutex
	values map[string][]int64
	reads  map[string]int
	// zones lists what successive SOA queries to a server (host:port)
	// answer (the last one repeats); none: serial 7.
	zones map[string][]probe.Fact[uint32]
}

var _ Prober = (*fakeProber)(nil)

func (p *fakeProber) Probe(ctx context.Context, n inventory.Node) *probe.Facts {
	f := *p.facts[n.Name]
	f.Value, f.Page = p.Value(ctx, n), p.Page(ctx, n)
	return &f
}

func (p *fakeProber) read(n inventory.Node) probe.Fact[int64] {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.facts[n.Name]
	if f.Value.Err != nil {
		return f.Value
	}
	vs := p.values[n.Name]
	if len(vs) == 0 {
		return probe.Fact[int64]{V: 42}
	}
	i := min(p.reads[n.Name], len(vs)-1)
	p.reads[n.Name]++
	return probe.Fact[int64]{V: vs[i]}
}

func (p *fakeProber) ZoneSerial(_ context.Context, server, _ string) probe.Fact[uint32] {
	p.mu.Lock()
	defer p.mu.Unlock()
	fs := p.zones[server]
	if len(fs) == 0 {
		return probe.Fact[uint32]{V: 7}
	}
	i := min(p.reads["zone "+server], len(fs)-1)
	p.reads["zone "+server]++
	return fs[i]
}

func (p *fakeProber) Value(_ context.Context, n inventory.Node) probe.Fact[int64] { return p.read(n) }
func (p *fakeProber) Page(_ context.Context, n inventory.Node) probe.Fact[int64]  { return p.read(n) }

var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// healthy returns the facts of a well node of inv.
func healthy(inv *inventory.Inventory, n inventory.Node) *probe.Facts {
	master := inv.Master()
	redis := probe.RedisInfo{Version: "7.0.15", Role: "slave", MasterHost: master.Address, MasterPort: 6380,
		LinkUp: true, SinceMaster: 1, Offset: 1000, UsedMemory: 2 << 20}
	if n.Role == inventory.RoleMaster {
		redis = probe.RedisInfo{Version: "7.0.15", Role: "master", Offset: 1000, ConnectedReplicas: 6, UsedMemory: 2 << 20}
	}
	return &probe.Facts{
		Node:    n,
		SSH:     probe.Fact[time.Duration]{V: 120 * time.Millisecond},
		Clock:   probe.Fact[probe.Clock]{V: probe.Clock{Offset: 3 * time.Millisecond, RTT: 80 * time.Millisecond}},
		Redis:   probe.Fact[probe.RedisInfo]{V: redis},
		Memory:  probe.Fact[uint64]{V: 2 << 30},
		Disks:   probe.Fact[[]probe.Disk]{V: []probe.Disk{{Path: "/", Size: 20 << 30, Avail: 12 << 30}, {Path: "/var/lib/redis", Size: 20 << 30, Avail: 12 << 30}}},
		Certs:   probe.Fact[[]probe.Cert]{V: []probe.Cert{{Path: "/etc/redis/tls/redis.crt", NotAfter: testNow.Add(300 * 24 * time.Hour)}}},
		RAID:    probe.Fact[probe.RAIDState]{V: probe.RAIDState{Path: raid.DefaultStatePath, Report: &raid.Report{Severity: nagios.OK, Summary: "md0 raid10 optimal", CheckedAt: testNow.Add(-3 * time.Minute)}}},
		Version: probe.Fact[string]{V: "0.1.0"},
		Ready:   probe.Fact[probe.HTTPAnswer]{V: probe.HTTPAnswer{Code: 200, Body: "ok"}},
		Sentinel: probe.Fact[probe.SentinelView]{V: probe.SentinelView{Master: master.Address + ":6380",
			Quorum: "OK 7 usable Sentinels. Quorum and failover authorization can be reached"}},
	}
}

// noSSH is a node whose SSH failed: node-side facts are not there.
func noSSH(f *probe.Facts, err error) {
	f.SSH = probe.Fact[time.Duration]{Err: err}
	e := probe.ErrNoSSH
	f.Clock, f.Redis, f.Memory = probe.Fact[probe.Clock]{Err: e}, probe.Fact[probe.RedisInfo]{Err: e}, probe.Fact[uint64]{Err: e}
	f.Disks, f.Certs = probe.Fact[[]probe.Disk]{Err: e}, probe.Fact[[]probe.Cert]{Err: e}
	f.RAID, f.Version = probe.Fact[probe.RAIDState]{Err: e}, probe.Fact[string]{Err: e}
	f.Sentinel = probe.Fact[probe.SentinelView]{Err: e}
}

// errRefused is what net/http returns for a node whose counterd does not listen.
var errRefused = &url.Error{Op: "Get", URL: "http://198.51.100.20:80/readyz",
	Err: errors.New("dial tcp 198.51.100.20:80: connect: connection refused")}
