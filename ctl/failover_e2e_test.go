//go:build !node

package ctl_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/ctl/chaos"
	"counter/ctl/lab/load"
	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/redisconf"
	"counter/provisioning/sentinel"
	"counter/provisioning/steps"
)

// checkFailover: `counterctl failover` on the provisioned lab, logged in
// as the ACL user counterctl that provision wrote on Redis and Sentinel.
// A dry run changes nothing; an unknown or killed target is refused with
// the reason and a non-zero exit; under a load of presses over HTTPS from
// the continents' clients the master goes to the mirror (every sentinel
// and every node agree, the old master follows it) and back, and no
// acknowledged press is lost. It leaves the inventory's master master.
func checkFailover(t *testing.T, e *e2e, inv *inventory.Inventory) {
	master := inv.Master()
	mirror, ok := inv.Mirror()
	if !ok {
		t.Skip("the lab inventory has no mirror")
	}
	t.Run("dry run changes nothing", func(t *testing.T) {
		before := clusterView(t, inv)
		if before.sentinelMaster() != master.Name {
			t.Fatalf("before: %v, want every sentinel and node to name %s", before, master.Name)
		}
		out, err := e.run(3*time.Minute, "failover", "-i", e.inv, "--to", mirror.Name, "--dry-run")
		t.Logf("failover --dry-run:\n%s", out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "dry run: nothing changed") {
			t.Error("no 'dry run: nothing changed' in the output")
		}
		if after := clusterView(t, inv); after.String() != before.String() {
			t.Errorf("after a dry run:\n%s\nwant as before:\n%s", after, before)
		}
	})
	t.Run("refuses an unknown node", func(t *testing.T) {
		out, err := e.run(time.Minute, "failover", "-i", e.inv, "--to", "nowhere")
		if err == nil || !strings.Contains(out, "--to nowhere: no such node") {
			t.Errorf("failover --to nowhere = %v:\n%s\nwant a non-zero exit saying there is no such node", err, out)
		}
	})
	t.Run("to the mirror and back under load, no acknowledged press lost", func(t *testing.T) {
		checkFailoverUnderLoad(t, e, inv, master, mirror)
	})
	t.Run("refuses a killed node", func(t *testing.T) {
		var victim inventory.Node
		for _, n := range inv.Ordered() {
			if n.Role == inventory.RoleReplica {
				victim = n
			}
		}
		if _, err := e.lab(time.Minute, "kill", victim.Name); err != nil {
			t.Fatal(err)
		}
		out, err := e.run(3*time.Minute, "failover", "-i", e.inv, "--to", victim.Name)
		t.Logf("failover --to %s (killed):\n%s", victim.Name, out)
		var xe *exec.ExitError
		if !errors.As(err, &xe) || xe.ExitCode() == 0 {
			t.Errorf("failover --to a killed node: %v, want a non-zero exit", err)
		}
		// The master may still list it online until repl-timeout: then the
		// reason is that it does not answer.
		if !regexp.MustCompile(`switchover refused: ` + victim.Name + ` (is an online replica of ` + master.Name + ` .*: not listed online|answers: )`).MatchString(out) {
			t.Errorf("the refusal does not say that %s is not an online replica of %s or does not answer", victim.Name, master.Name)
		}
		if _, err := e.lab(3*time.Minute, "start", victim.Name); err != nil {
			t.Fatal(err)
		}
		c := connector(t, inv)
		h, err := c.Host(t.Context(), victim)
		if err != nil {
			t.Fatal(err)
		}
		testutil.Poll(t, 2*time.Minute, victim.Name+" replicates again", func(ctx context.Context) error {
			f, err := steps.ReplicationInfo(ctx, h)
			if err == nil && (f["master_host"] != master.Address || !f.LinkUp()) {
				err = fmt.Errorf("role:%s master_host:%s link:%s", f["role"], f["master_host"], f["master_link_status"])
			}
			return err
		})
		if v := clusterView(t, inv); v.sentinelMaster() != master.Name {
			t.Errorf("after the refusal: %v, want %s master everywhere", v, master.Name)
		}
	})
}

// view is what every node's sentinel names as master and what every
// node's Redis says of itself.
type view struct {
	sentinels map[string]string // node -> the node its sentinel names
	roles     map[string]string // node -> role, master_host, link, priority
	nodes     []string
}

func (v view) String() string {
	var b strings.Builder
	for _, n := range v.nodes {
		fmt.Fprintf(&b, "%s: sentinel names %s; redis %s\n", n, v.sentinels[n], v.roles[n])
	}
	return b.String()
}

// sentinelMaster is the node every sentinel names, or "" if they differ.
func (v view) sentinelMaster() string {
	m := ""
	for i, n := range v.nodes {
		if i == 0 {
			m = v.sentinels[n]
		} else if v.sentinels[n] != m {
			return ""
		}
	}
	return m
}

func clusterView(t *testing.T, inv *inventory.Inventory) view {
	t.Helper()
	v, err := readView(t.Context(), inv)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// readView asks every node over a new SSH connection (a switchover may
// have moved the master, and so the jump host).
func readView(ctx context.Context, inv *inventory.Inventory) (view, error) {
	byAddr := map[string]string{}
	for _, n := range inv.Nodes {
		byAddr[net.JoinHostPort(n.Address, strconv.Itoa(redisconf.DefaultPort))] = n.Name
		byAddr[n.Address] = n.Name
	}
	c := host.NewConnector(inv, host.ConnectOptions{})
	defer c.Close()
	v := view{sentinels: map[string]string{}, roles: map[string]string{}}
	for _, n := range inv.Ordered() {
		v.nodes = append(v.nodes, n.Name)
		h, err := c.Host(ctx, n)
		if err != nil {
			return v, err
		}
		ask := sentinel.Client{Where: sentinel.Provisioned(), Run: func(ctx context.Context, argv []string) ([]byte, error) {
			return h.Query(ctx, argv...)
		}}
		a, err := ask.MasterAddr(ctx, inv.Cluster)
		if err != nil {
			v.sentinels[n.Name] = "error: " + err.Error()
		} else {
			v.sentinels[n.Name] = byAddr[a]
		}
		f, err := steps.ReplicationInfo(ctx, h)
		if err != nil {
			return v, err
		}
		if f["role"] == "master" {
			v.roles[n.Name] = "master"
		} else {
			v.roles[n.Name] = fmt.Sprintf("replica of %s, link %s, priority %s", byAddr[f["master_host"]], f["master_link_status"], f["slave_priority"])
		}
	}
	return v, nil
}

// waitMaster polls until every sentinel names want and every other node
// replicates from it with its link up.
func waitMaster(t *testing.T, inv *inventory.Inventory, want string) {
	t.Helper()
	testutil.Poll(t, 2*time.Minute, want+" master for every sentinel and node", func(ctx context.Context) error {
		v, err := readView(ctx, inv)
		if err != nil {
			return err
		}
		if v.sentinelMaster() != want {
			return fmt.Errorf("\n%s", v)
		}
		for _, n := range v.nodes {
			if n == want && v.roles[n] != "master" || n != want && !strings.HasPrefix(v.roles[n], "replica of "+want+", link up") {
				return fmt.Errorf("\n%s", v)
			}
		}
		return nil
	})
}

var writePauseRE = regexp.MustCompile(`writes were paused for (\S+)`)

func checkFailoverUnderLoad(t *testing.T, e *e2e, inv *inventory.Inventory, master, mirror inventory.Node) {
	lp := startPressLoad(t, e, inv)
	before := valueEverywhere(t, inv, 3*time.Minute)
	lp.start(t)
	first := time.Now()
	// The presses are spread over the load's duration: switch once a third
	// of them is sent, back once the first switch has been checked.
	for time.Since(first) < lp.duration/3 {
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(time.Second):
		}
	}
	win := chaos.Window{Before: before, Fault: time.Now()}
	for i, to := range []inventory.Node{mirror, master} {
		out, err := e.run(5*time.Minute, "failover", "-i", e.inv, "--to", to.Name)
		t.Logf("+%s failover --to %s:\n%s", time.Since(first).Round(100*time.Millisecond), to.Name, out)
		if err != nil {
			t.Fatalf("failover --to %s: %v", to.Name, err)
		}
		if m := writePauseRE.FindStringSubmatch(out); m != nil {
			t.Logf("write pause of the switchover to %s: %s", to.Name, m[1])
		} else {
			t.Errorf("failover --to %s does not say how long writes were paused", to.Name)
		}
		waitMaster(t, inv, to.Name)
		if i == 0 {
			t.Logf("after the switchover to %s:\n%s", to.Name, clusterView(t, inv))
		}
	}
	recs := lp.finish(t)
	win.Final = valueEverywhere(t, inv, 3*time.Minute)
	res := chaos.Analyze("failover --to mirror and back", recs, win)
	t.Logf("%s\n%s\nacknowledged %d, unknown %d, errors %v, failed on %v", chaos.TableHeader, res.Row(), res.Acked, res.Unknown, res.Errors, res.FailedOn)
	if res.Acked == 0 {
		t.Fatal("no press acknowledged: the load did not run")
	}
	if res.Lost != 0 || res.Double != 0 {
		t.Errorf("%d acknowledged presses lost, %d counted twice; want 0 and 0", res.Lost, res.Double)
	}
}

// pressLoad is `counterctl lab load` in the client namespaces, pressing
// over HTTPS on the nodes of the client's continent.
type pressLoad struct {
	procs    []*pressProc
	duration time.Duration
}

type pressProc struct {
	client string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    string
	stderr strings.Builder
	exited chan error
}

func startPressLoad(t *testing.T, e *e2e, inv *inventory.Inventory) *pressLoad {
	dir := t.TempDir()
	lp := &pressLoad{duration: 60 * time.Second}
	nodes := map[string]string{}
	byContinent := map[string][]string{}
	var all []string
	for _, n := range inv.Ordered() {
		nodes[n.Name] = "https://" + n.Address
		byContinent[n.Continent] = append(byContinent[n.Continent], n.Name)
		all = append(all, n.Name)
	}
	prefix := fmt.Sprintf("fo%d", time.Now().Unix()%1e6)
	for i, cont := range inventory.Continents() {
		if len(byContinent[cont]) == 0 {
			continue
		}
		reg := append(append([]string{}, all[i%len(all):]...), all[:i%len(all)]...)
		cfg := load.Config{Client: cont, Nodes: nodes, CAFile: filepath.Join(inv.PKIDir, "ca.crt"), Prefix: prefix,
			Password: "failover-password-1", Users: 20, Register: reg, Press: byContinent[cont], Read: byContinent[cont],
			Duration: lp.duration, Settle: 40 * time.Second, ReadEvery: time.Second, Timeout: 15 * time.Second}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(dir, cont+".json")
		testutil.WriteFile(t, cfgPath, b, 0o600)
		p := &pressProc{client: cont, out: filepath.Join(dir, cont+".jsonl"), exited: make(chan error, 1)}
		p.cmd = exec.Command("ip", "netns", "exec", "ctr-client-"+cont, e.bin, "lab", "load", "--config", cfgPath, "--out", p.out)
		p.cmd.Stderr = &p.stderr
		if p.stdin, err = p.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		stdout, err := p.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatalf("start the load in client-%s: %v", cont, err)
		}
		t.Cleanup(func() {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Kill() // by its pid; an error: it has ended already
			}
		})
		ready := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			ready <- line
			io.Copy(io.Discard, stdout)
			p.exited <- p.cmd.Wait()
		}()
		select {
		case line := <-ready:
			if !strings.HasPrefix(line, "registered ") {
				t.Fatalf("load in client-%s did not register its users: %q\n%s", cont, line, p.stderr.String())
			}
		case <-time.After(4 * time.Minute):
			t.Fatalf("load in client-%s: no registration within 4 min\n%s", cont, p.stderr.String())
		}
		lp.procs = append(lp.procs, p)
	}
	if len(lp.procs) < 3 {
		t.Fatalf("load from %d continents' clients, want at least 3", len(lp.procs))
	}
	return lp
}

func (lp *pressLoad) start(t *testing.T) {
	for _, p := range lp.procs {
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			t.Fatalf("start the load on %s: %v", p.client, err)
		}
	}
}

// finish waits for every load process to end by itself (each is bounded
// by its duration and settle) and reads the records.
func (lp *pressLoad) finish(t *testing.T) []load.Record {
	var recs []load.Record
	for _, p := range lp.procs {
		select {
		case err := <-p.exited:
			if err != nil {
				t.Errorf("load in client-%s: %v\n%s", p.client, err, p.stderr.String())
			}
		case <-time.After(5 * time.Minute):
			p.cmd.Process.Kill()
			t.Fatalf("load in client-%s did not end by itself; killed", p.client)
		}
		f, err := os.Open(p.out)
		if err != nil {
			t.Fatal(err)
		}
		r, err := load.ReadRecords(f)
		f.Close()
		if err != nil {
			t.Fatalf("records of client-%s: %v", p.client, err)
		}
		recs = append(recs, r...)
	}
	return recs
}

// valueEverywhere polls every node's /getvalue over HTTPS from the host
// until all answer the same value, and returns it.
func valueEverywhere(t *testing.T, inv *inventory.Inventory, within time.Duration) int64 {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(inv.PKIDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("the lab CA: no certificate")
	}
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer c.CloseIdleConnections()
	var v int64
	testutil.Poll(t, within, "every node shows the same value", func(ctx context.Context) error {
		vals := map[string]int64{}
		for _, n := range inv.Ordered() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+n.Address+"/getvalue", nil)
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			x, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %d %q", n.Name, resp.StatusCode, b)
			}
			vals[n.Name] = x
		}
		first := true
		for _, x := range vals {
			if !first && x != v {
				return fmt.Errorf("values differ: %v", vals)
			}
			v, first = x, false
		}
		return nil
	})
	return v
}
