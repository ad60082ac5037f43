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
	m, err := sentinel.MasterAddr(ctx, run, p.opts.Cluster)
	if err != nil {
		return Fact[SentinelView]{Err: err}
	}
	v := SentinelView{Master: m}
	v.Quorum, v.QuorumErr = sentinel.CKQuorum(ctx, run, p.opts.Cluster)
	return Fact[SentinelView]{V: v}
}
