package ctl

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/redisconf"
	"counter/provisioning/steps"
)

type statusOptions struct {
	inventory string
	output    string
	acceptNew bool
	parallel  int
	getenv    func(string) string
}

func newStatusCmd() *cobra.Command {
	o := &statusOptions{getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "status -i FILE",
		Short: "Show each node: reachable, Redis role and replication lag, counter value, counterd version and readiness",
		Long: `Connects to every node of the inventory over SSH (replicas through the
master) and shows, per node: whether it answered, its role in the inventory
and as Redis sees it, the replication link and its lag in bytes (behind the
master's offset) and seconds (since the master was last heard), the counter
value, the installed counterd's version, and counterd's /readyz.
Read-only; --output json for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.inventory, "inventory", "i", "", "inventory `file`")
	f.StringVarP(&o.output, "output", "o", "text", "output `format`: text or json")
	f.BoolVar(&o.acceptNew, "accept-new-host-keys", false, "record host keys of nodes missing from known_hosts")
	f.IntVar(&o.parallel, "parallel", 7, "how many nodes to query at once")
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
	// offset is the replication offset, to compute LagBytes.
	offset int64
}

func (o *statusOptions) run(ctx context.Context, stdout, stderr io.Writer) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q: want text or json", o.output)
	}
	inv, err := inventory.Load(o.inventory)
	if err != nil {
		return err
	}
	po := provisionOptions{acceptNew: o.acceptNew, getenv: o.getenv}
	conn := host.NewConnector(inv, po.connectOptions(stderr))
	defer conn.Close()
	nodes := inv.Ordered()
	out := make([]nodeStatus, len(nodes))
	hosts := make([]host.Host, len(nodes))
	clients, errs := dialNodes(ctx, conn, inv, nodes, po.connectOptions(stderr), o.parallel)
	defer func() {
		for i, n := range nodes {
			if clients[i] != nil && n.Role == inventory.RoleReplica {
				clients[i].Close()
			}
		}
	}()
	for i, n := range nodes {
		out[i] = nodeStatus{Node: n.Name, Address: n.Address, Role: string(n.Role)}
		if errs[i] != nil {
			out[i].Error = errs[i].Error()
			continue
		}
		hosts[i] = host.NewRemote(n.Name, clients[i])
		out[i].Reachable = true
	}
	sem := make(chan struct{}, max(o.parallel, 1))
	var wg sync.WaitGroup
	for i := range nodes {
		if hosts[i] == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			queryStatus(ctx, hosts[i], &out[i])
		}()
	}
	wg.Wait()
	lagBytes(out)
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeStatus(stdout, out)
}

// readyScript fetches counterd's /readyz on the node's loopback with
// bash's /dev/tcp (no curl on a minimal Debian), the port an argument.
const readyScript = `exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 7
printf 'GET /readyz HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3`

var (
	infoArgv    = steps.RedisCLIArgv("info", "replication")
	valueArgv   = steps.RedisCLIArgv("get", redisconf.DefaultKeyPrefix+"value")
	versionArgv = []string{"counterd", "--version"}
	readyArgv   = []string{"bash", "-c", readyScript, "bash", strings.TrimPrefix(steps.CounterdListen, ":")}
)

// queryStatus fills s from one batched round trip to the node.
func queryStatus(ctx context.Context, h host.Host, s *nodeStatus) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	b := steps.NewBatched(h, [][]string{infoArgv, valueArgv, versionArgv, readyArgv}, nil)
	if out, err := b.Query(ctx, infoArgv...); err == nil {
		info := steps.ParseInfo(out)
		switch info["role"] {
		case "master":
			s.RedisRole = "master"
			s.offset, _ = strconv.ParseInt(info["master_repl_offset"], 10, 64)
		case "slave":
			s.RedisRole = "replica"
			s.Link = info["master_link_status"]
			s.offset, _ = strconv.ParseInt(info["slave_repl_offset"], 10, 64)
			if v, err := strconv.ParseInt(info["master_last_io_seconds_ago"], 10, 64); err == nil && v >= 0 {
				s.LagSeconds = &v
			}
		}
	}
	if out, err := b.Query(ctx, valueArgv...); err == nil {
		// No key yet is what counterd shows as 0.
		s.Value = cmp.Or(strings.TrimSpace(string(out)), "0")
	}
	if out, err := b.Query(ctx, versionArgv...); err == nil {
		s.Counterd = strings.TrimPrefix(strings.TrimSpace(string(out)), "counterd ")
	}
	out, err := b.Query(ctx, readyArgv...)
	if err != nil {
		s.ReadyText = "no answer on " + steps.CounterdListen
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		s.ReadyText = "not HTTP: " + err.Error()
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	s.Ready = resp.StatusCode == http.StatusOK
	s.ReadyText = strings.TrimSpace(resp.Status + " " + firstLineOf(body))
}

// lagBytes sets each replica's lag behind the master's replication offset.
func lagBytes(ss []nodeStatus) {
	var master *nodeStatus
	for i := range ss {
		if ss[i].RedisRole == "master" && ss[i].Role == string(inventory.RoleMaster) {
			master = &ss[i]
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

func firstLineOf(b []byte) string {
	l, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return l
}
