package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"counter/internal/redisinfo"
	"counter/provisioning/host"
	"counter/provisioning/phase"
	"counter/provisioning/redisconf"
)

// DefaultLinkTimeout bounds the wait for a replica's first sync.
const DefaultLinkTimeout = 90 * time.Second

// redisCLIScript runs redis-cli on the node's Unix socket as the counterd
// ACL user, with the password from counterd's own file in REDISCLI_AUTH:
// it never appears in an argv, a log, or leaves the node.
const redisCLIScript = `REDISCLI_AUTH=$(cat -- "$1") || exit 2
export REDISCLI_AUTH
sock=$2
shift 2
exec redis-cli --no-auth-warning -s "$sock" --user counterd "$@"`

// redisCLIArgv runs redis-cli with args against the node's Redis.
func redisCLIArgv(args ...string) []string {
	return append([]string{"sh", "-c", redisCLIScript, "sh", CounterdPassword, redisconf.DebianPaths().UnixSocket}, args...)
}

// Replication waits until Redis answers as the node's role: the master as
// master, the others with master_link_status:up, so a run that ends green
// has a replicating cluster. It changes nothing.
type Replication struct{ c *Cluster }

// Title names the step in reports.
func (Replication) Title() string { return "replication" }

// DryRun skips the wait: in a dry run nothing was restarted.
func (Replication) DryRun(context.Context, host.Host) (phase.Result, error) {
	return phase.Result{Status: phase.Skipped}, nil
}

// Run polls INFO replication until the role and link are right.
func (s Replication) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	n, err := s.c.node(h)
	if err != nil {
		return phase.Result{}, err
	}
	timeout := s.c.LinkTimeout
	if timeout <= 0 {
		timeout = DefaultLinkTimeout
	}
	err = s.c.wait(ctx, timeout, func(ctx context.Context) (bool, string, error) {
		// Not batched (see Reads): every poll asks Redis as it is now, not
		// as it was before the master's steps ran.
		out, err := h.Query(ctx, redisCLIArgv("info", "replication")...)
		if err != nil {
			return false, "", err
		}
		info := redisinfo.Parse(string(out))
		role := info["role"]
		switch {
		case role == "":
			return false, "redis answered " + firstLine(out), nil
		case n.Name == s.c.master().Name:
			return role == "master", "role:" + role + ", want master", nil
		case role != "slave":
			return false, "role:" + role + ", want replica", nil
		}
		st := info["master_link_status"]
		return st == "up", "master_link_status:" + st, nil
	})
	if err != nil {
		return phase.Result{}, fmt.Errorf("redis on %s: %w", n.Name, err)
	}
	return phase.Result{Status: phase.OK}, nil
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if l == "" {
		return "nothing"
	}
	return fmt.Sprintf("%q", l)
}
