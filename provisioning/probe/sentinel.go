package probe

import (
	"context"

	"counter/provisioning/sentinel"
	"counter/provisioning/sshx"
)

// SentinelView is what the node's own sentinel says.
type SentinelView struct {
	Master string // host:port it names for the cluster
	// Quorum is CKQUORUM's OK line; QuorumErr its refusal.
	Quorum    string
	QuorumErr error
}

// sentinel asks the node's sentinel over SSH (provisioning/sentinel).
func (p *Prober) sentinel(ctx context.Context, cl *sshx.Client) Fact[SentinelView] {
	run := func(ctx context.Context, argv []string) ([]byte, error) {
		out, err := cl.Run(ctx, argv, sshx.RunOptions{})
		return out.Stdout, err
	}
	c := sentinel.Client{Run: run, Where: p.opts.Sentinel}
	m, err := c.MasterAddr(ctx, p.opts.Cluster)
	if err != nil {
		return Fact[SentinelView]{Err: err}
	}
	v := SentinelView{Master: m}
	v.Quorum, v.QuorumErr = c.CKQuorum(ctx, p.opts.Cluster)
	return Fact[SentinelView]{V: v}
}
