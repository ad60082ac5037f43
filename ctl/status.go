//go:build !node

package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/internal/redisinfo"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/livemaster"
	"counter/provisioning/probe"
	"counter/provisioning/redisconf"
)

type statusOptions struct {
	inventory string
	output    string
	timeout   time.Duration
	getenv    func(string) string
	now       func() time.Time
}

func newStatusCmd() *cobra.Command {
	o := &statusOptions{getenv: os.Getenv, now: time.Now}
	cmd := &cobra.Command{
		Use:   "status -i FILE",
		Short: "Show each node: reachable, Redis role and replication lag, counter value, counterd version and readiness",
		Long: `Connects to every node of the inventory over SSH (replicas through the
master, or the mirror if the master does not answer) and shows, per node:
whether it answered, its role in the inventory and as Redis sees it ("!"
when Redis is not where the live master puts it), the replication link and
its lag in bytes (behind the live master's offset) and seconds (since the
master was last heard), the value counterd serves on /getvalue, the installed counter
package's version, and counterd's /readyz. It reads the same facts as
counterctl health, without grading them. The live master is the one node
the others replicate from, as their Redis says (the inventory's role: master
only for a cluster never provisioned); a last line names it, or says the
nodes disagree. Read-only; --output json for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file`")
	f.StringVarP(&o.output, "output", "o", "text", "output `format`: text or json")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up on nodes that have not answered after this `duration`")
	_ = cmd.MarkFlagRequired("inventory")
	return cmd
}

// nodeStatus is one node as `counterctl status` shows it.
type nodeStatus struct {
	Node      string `json:"node"`
	Address   string `json:"address"`
	Role      string `json:"role"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// RedisRole is "master" or "replica" as INFO says; empty if unknown.
	RedisRole  string `json:"redis_role,omitempty"`
	Link       string `json:"link,omitempty"` // up or down; empty on a master
	LagBytes   *int64 `json:"lag_bytes,omitempty"`
	LagSeconds *int64 `json:"lag_seconds,omitempty"`
	Value      string `json:"value,omitempty"`
	Counterd   string `json:"counterd_version,omitempty"`
	Ready      bool   `json:"ready"`
	ReadyText  string `json:"ready_detail,omitempty"`
	// LiveMaster marks the node the nodes agree is master now (see
	// provisioning/livemaster); replicas' lag is measured against it.
	LiveMaster bool `json:"live_master,omitempty"`
	// offset is the replication offset, to compute LagBytes.
	offset int64
	// info is what Redis said, for livemaster.Decide; nil if nothing.
	info redisinfo.Fields
}

func (o *statusOptions) run(ctx context.Context, stdout io.Writer) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return err
	}
	conn := host.NewConnector(inv, host.ConnectOptions{AgentSocket: o.getenv("SSH_AUTH_SOCK")})
	defer conn.Close()
	where := probe.Defaults()
	if where.RootCAs, err = counterdRoots(inv); err != nil {
		return err
	}
	where.ServerName = counterdServerName(inv)
	pr := probe.New(conn, where, o.now)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	nodes := inv.Ordered()
	out := make([]nodeStatus, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { out[i] = fromFacts(pr.Probe(ctx, n)) })
	}
	wg.Wait()
	d, derr := decideFromStatus(ctx, inv, out)
	if derr == nil {
		lagBytes(out, d.Master.Name)
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if err := writeStatus(stdout, out); err != nil {
		return err
	}
	if derr != nil {
		_, err := fmt.Fprintf(stdout, "master: UNKNOWN: %v\n", derr)
		return err
	}
	_, err = fmt.Fprintf(stdout, "master: %s, from the %s (%s)\n", d.Master.Name, d.Source, d.Why)
	return err
}

// fromFacts is the part of a node's facts that status shows.
func fromFacts(f *probe.Facts) nodeStatus {
	n := f.Node
	s := nodeStatus{Node: n.Name, Address: n.Address, Role: string(n.Role), Reachable: f.SSH.Err == nil}
	if f.SSH.Err != nil {
		s.Error = f.SSH.Err.Error()
	}
	if r := f.Redis; r.Err == nil {
		s.offset = r.V.Offset
		s.info = r.V.Fields()
		switch r.V.Role {
		case "master":
			s.RedisRole = "master"
		case "slave":
			s.RedisRole, s.Link = "replica", "down"
			if r.V.LinkUp {
				s.Link = "up"
			}
			since := r.V.SinceMaster
			s.LagSeconds = &since
		}
	}
	if f.Value.Err == nil {
		s.Value = strconv.FormatInt(f.Value.V, 10)
	}
	if f.Version.Err == nil {
		s.Counterd = f.Version.V
	}
	switch {
	case f.Ready.Err == nil:
		s.Ready = f.Ready.V.Code == 200
		s.ReadyText = fmt.Sprintf("%d %s", f.Ready.V.Code, f.Ready.V.Body)
	case !errors.Is(f.Ready.Err, probe.ErrNoSSH):
		s.ReadyText = f.Ready.Err.Error()
	}
	return s
}

// decideFromStatus asks livemaster who is master now, from the INFO the
// probe already read: status and provision name the same node.
func decideFromStatus(ctx context.Context, inv *inventory.Inventory, ss []nodeStatus) (livemaster.Decision, error) {
	byName := map[string]redisinfo.Fields{}
	for _, s := range ss {
		if s.info != nil {
			byName[s.Node] = s.info
		}
	}
	q := func(_ context.Context, n inventory.Node) (redisinfo.Fields, error) {
		if f, ok := byName[n.Name]; ok {
			return f, nil
		}
		return nil, errors.New("redis did not answer")
	}
	return livemaster.Decide(ctx, livemaster.NodesOf(inv, nil, redisconf.DefaultPort), inv.Master(), q)
}

// lagBytes marks the live master and sets each replica's lag behind its
// replication offset.
func lagBytes(ss []nodeStatus, live string) {
	var master *nodeStatus
	for i := range ss {
		if ss[i].Node == live && ss[i].RedisRole == "master" {
			master = &ss[i]
			master.LiveMaster = true
		}
	}
	if master == nil {
		return
	}
	for i := range ss {
		if ss[i].RedisRole == "replica" && ss[i].Link == "up" {
			lag := max(master.offset-ss[i].offset, 0)
			ss[i].LagBytes = &lag
		}
	}
}
