package health

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/probe"
)

// hangingProber never answers before ctx ends, like nodes behind a dead
// link, and counts how many probes run at once.
type hangingProber struct {
	running, most atomic.Int32
}

var _ Prober = (*hangingProber)(nil)

func (p *hangingProber) Probe(ctx context.Context, n inventory.Node) *probe.Facts {
	now := p.running.Add(1)
	defer p.running.Add(-1)
	for {
		m := p.most.Load()
		if now <= m || p.most.CompareAndSwap(m, now) {
			break
		}
	}
	<-ctx.Done()
	err := context.Cause(ctx)
	f := &probe.Facts{Node: n}
	f.SSH.Err, f.Ready.Err, f.Value.Err, f.Page.Err = err, err, err, err
	noSSH(f, err)
	return f
}

func (p *hangingProber) Value(ctx context.Context, _ inventory.Node) probe.Fact[int64] {
	<-ctx.Done()
	return probe.Fact[int64]{Err: context.Cause(ctx)}
}

func (p *hangingProber) ZoneSerial(ctx context.Context, _, _ string) probe.Fact[uint32] {
	<-ctx.Done()
	return probe.Fact[uint32]{Err: context.Cause(ctx)}
}

func (p *hangingProber) Page(ctx context.Context, n inventory.Node) probe.Fact[int64] {
	return p.Value(ctx, n)
}

// The run ends with its context, whatever the nodes do, so cron never
// piles up; and it never probes more nodes at once than asked.
func TestRunIsBounded(t *testing.T) {
	inv := loadInventory(t)
	p := &hangingProber{}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := Run(ctx, p, inv, Options{Parallel: 2})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %s with a 300ms context", took)
	}
	if r.State != nagios.Unknown {
		t.Errorf("State = %s, want UNKNOWN (out of time, nothing known)", r.State)
	}
	if got := p.most.Load(); got > 2 {
		t.Errorf("%d probes ran at once, want at most 2", got)
	}
}
