//go:build !node

package ctl_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"counter/ctl/chaos"
	"counter/ctl/lab/labtest"
	"counter/ctl/lab/load"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/steps"
)

// The load of every scenario: 6 clients × 40 users = 240 distinct users
// pressing once each over loadDuration, readers on every continent.
const (
	usersPerClient = 40
	loadDuration   = 50 * time.Second
	loadSettle     = 40 * time.Second
	faultAt        = 15 * time.Second // after the first press
)

// scenario is one row of docs/chaos.md. act makes the fault (and undoes
// it), marking both on the run; check asserts what the issue promises.
// A scenario whose needs are not on this branch is skipped, saying which.
type scenario struct {
	name  string
	needs string
	act   func(t *testing.T, r *chaosRun)
	check func(t *testing.T, r *chaosRun, res chaos.Result)
}

// scenarios: 1, 2, 3, 6 and 7 need Sentinel and counterd following it
// (branches sentinel, counterd-fo, switchover): the lead fills in act and
// check and clears needs after merging them.
var scenarios = []scenario{
	{name: "1 kill master", needs: "Sentinel failover (branches sentinel + counterd-fo)"},
	{name: "2 kill master and mirror", needs: "Sentinel failover (branches sentinel + counterd-fo)"},
	{name: "3 partition master 30 s", needs: "Sentinel failover and fencing (branches sentinel + counterd-fo)"},
	{
		name: "4 kill a continental replica",
		act: func(t *testing.T, r *chaosRun) {
			r.fault(t, "kill", "na")
			r.wait(15 * time.Second)
			r.repair(t, "start", "na")
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			for node, n := range res.FailedOn {
				if node != "na" {
					t.Errorf("%d presses or reads failed on %s while only na was down: other continents must be unaffected", n, node)
				}
			}
			checkNoLoss(t, res)
			if !res.Recovered {
				t.Error("presses on na never succeeded again after lab start na")
			}
		},
	},
	{
		name: "5 restart every node",
		act: func(t *testing.T, r *chaosRun) {
			names := r.dataNodes()
			r.fault(t, append([]string{"kill"}, names...)...)
			r.wait(5 * time.Second)
			r.repair(t, append([]string{"start"}, names...)...)
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			checkNoLoss(t, res)
			if !res.Recovered {
				t.Error("presses never succeeded again after every node was started")
			}
			checkOneMaster(t, r)
		},
	},
	{name: "6 failover --to mirror and back", needs: "counterctl failover (branch switchover)"},
	{name: "7 provision after 1", needs: "scenario 1 (Sentinel failover)"},
}

// TestChaos is `make chaos`: the scenarios under a steady load of
// browsers' presses and reads from every continent, on a provisioned lab.
func TestChaos(t *testing.T) {
	labtest.Require(t, "CHAOS", "curl")
	e := &e2e{t: t, stateDir: t.TempDir(), debDir: t.TempDir()}
	e.bin = labtest.BuildCounterctl(t)
	buildDeb(t, e.debDir)
	traceBefore := labtest.TraceBefore(t)
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(e.stateDir, "lab.json")); err == nil {
			if _, err := e.lab(2*time.Minute, "down"); err != nil {
				t.Errorf("cleanup: %v", err)
			} else {
				labtest.CheckNoTrace(t, traceBefore, e.stateDir)
			}
		}
	})
	start := time.Now()
	if out, err := e.lab(6*time.Minute, "up"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("lab up:\n%s", out)
	}
	e.inv = filepath.Join(e.stateDir, "inventory.yaml")
	inv, err := inventory.Load(e.inv)
	if err != nil {
		t.Fatal(err)
	}
	if out, took, err := e.provision(8 * time.Minute); err != nil {
		t.Fatalf("provision: %v\n%s", err, out)
	} else {
		t.Logf("provision took %s", took.Round(time.Second))
	}
	t.Logf("lab up and provisioned in %s", time.Since(start).Round(time.Second))

	var rows []string
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if sc.needs != "" {
				t.Skipf("SKIPPED chaos scenario %q: NOT RUN, it needs %s, which is not on this branch", sc.name, sc.needs)
			}
			scStart := time.Now()
			r := &chaosRun{t: t, e: e, inv: inv, dir: t.TempDir(), prefix: fmt.Sprintf("c%d%d", i+1, time.Now().Unix()%1e6)}
			res := r.run(sc)
			row := res.Row()
			rows = append(rows, row)
			t.Logf("scenario took %s; users %d, unknown %d\n%s\n%s", time.Since(scStart).Round(time.Second), res.Users, res.Unknown, chaos.TableHeader, row)
			if res.Users < 200 {
				t.Errorf("%d distinct users pressed, want at least 200", res.Users)
			}
			sc.check(t, r, res)
		})
	}
	t.Logf("chaos table (%s in all):\n%s\n%s", time.Since(start).Round(time.Second), chaos.TableHeader, strings.Join(rows, "\n"))
}

// checkNoLoss: no acknowledged press lost, none counted twice, no reader
// saw the value go back.
func checkNoLoss(t *testing.T, res chaos.Result) {
	t.Helper()
	if res.Lost != 0 {
		t.Errorf("%d acknowledged presses lost, want 0", res.Lost)
	}
	if res.Double != 0 {
		t.Errorf("%d presses counted twice, want 0", res.Double)
	}
	if res.Backwards != 0 {
		t.Errorf("readers saw the value go backwards %d times, want 0", res.Backwards)
	}
}

// checkOneMaster: exactly one node says role:master in its INFO, every
// other one replicates from it with its link up.
func checkOneMaster(t *testing.T, r *chaosRun) {
	t.Helper()
	c := connector(t, r.inv)
	roles := map[string]string{}
	var masters []inventory.Node
	for _, n := range r.inv.Ordered() {
		h, err := c.Host(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := steps.ReplicationInfo(t.Context(), h)
		if err != nil {
			t.Fatal(err)
		}
		roles[n.Name] = f["role"]
		if f["role"] == "master" {
			masters = append(masters, n)
		}
	}
	if len(masters) != 1 {
		t.Fatalf("nodes claiming master: %d (%v), want exactly one", len(masters), roles)
	}
	for _, n := range r.inv.Ordered() {
		if n.Name == masters[0].Name {
			continue
		}
		h, _ := c.Host(t.Context(), n)
		testutil.Poll(t, time.Minute, n.Name+" replicates from "+masters[0].Name, func(ctx context.Context) error {
			f, err := steps.ReplicationInfo(ctx, h)
			if err != nil {
				return err
			}
			if f["master_host"] != masters[0].Address || !f.LinkUp() {
				return fmt.Errorf("role:%s master_host:%s link:%s", f["role"], f["master_host"], f["master_link_status"])
			}
			return nil
		})
	}
}

// chaosRun is one scenario's run: its load processes and its marks.
type chaosRun struct {
	t      *testing.T
	e      *e2e
	inv    *inventory.Inventory
	dir    string
	prefix string
	start  time.Time // the first press
	win    chaos.Window
}

// run registers the users, starts the load, acts, waits for the load to
// end and every node to agree, and judges the records.
func (r *chaosRun) run(sc scenario) chaos.Result {
	t := r.t
	procs := r.startLoad()
	r.win.Before = r.converged(2 * time.Minute)
	r.start = time.Now()
	for _, p := range procs {
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			t.Fatalf("start the load on %s: %v", p.client, err)
		}
	}
	r.wait(faultAt)
	sc.act(t, r)
	var recs []load.Record
	for _, p := range procs {
		recs = append(recs, p.finish(t, loadDuration+loadSettle+time.Minute-time.Since(r.start))...)
	}
	r.win.Final = r.converged(3 * time.Minute)
	return chaos.Analyze(sc.name, recs, r.win)
}

// fault runs `counterctl lab ARGS` and marks the fault at its start.
func (r *chaosRun) fault(t *testing.T, args ...string) {
	t.Helper()
	r.win.Fault = time.Now()
	if out, err := r.e.lab(5*time.Minute, args...); err != nil {
		t.Fatalf("fault: %v\n%s", err, out)
	}
	t.Logf("fault at +%s: lab %s", r.win.Fault.Sub(r.start).Round(100*time.Millisecond), strings.Join(args, " "))
}

// repair runs `counterctl lab ARGS` and marks the repair at its start.
func (r *chaosRun) repair(t *testing.T, args ...string) {
	t.Helper()
	r.win.Repair = time.Now()
	if out, err := r.e.lab(5*time.Minute, args...); err != nil {
		t.Fatalf("repair: %v\n%s", err, out)
	}
	t.Logf("repair at +%s: lab %s, done after %s", r.win.Repair.Sub(r.start).Round(100*time.Millisecond), strings.Join(args, " "),
		time.Since(r.win.Repair).Round(100*time.Millisecond))
}

// wait holds the scenario's schedule (a fault d after the last step): the
// load runs meanwhile; nothing is waited for here.
func (r *chaosRun) wait(d time.Duration) { time.Sleep(d) }

func (r *chaosRun) dataNodes() []string {
	var names []string
	for _, n := range r.inv.Ordered() {
		names = append(names, n.Name)
	}
	return names
}

// converged polls every node's /getvalue from the host until all answer the
// same value, and returns it.
func (r *chaosRun) converged(within time.Duration) int64 {
	r.t.Helper()
	var v int64
	c := &http.Client{Timeout: 3 * time.Second}
	testutil.Poll(r.t, within, "every node shows the same value", func(ctx context.Context) error {
		vals := map[string]int64{}
		for _, n := range r.inv.Ordered() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Address+"/getvalue", nil)
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

// loadProc is one client's `counterctl lab load`, tracked by its pid.
type loadProc struct {
	client string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    string
	stderr bytes.Buffer
	exited chan error
}

// startLoad starts a load process in every client namespace and returns
// once each has registered its users.
func (r *chaosRun) startLoad() []*loadProc {
	t := r.t
	nodes := map[string]string{}
	byContinent := map[string][]string{}
	var all []string
	for _, n := range r.inv.Ordered() {
		nodes[n.Name] = "http://" + n.Address
		byContinent[n.Continent] = append(byContinent[n.Continent], n.Name)
		all = append(all, n.Name)
	}
	var procs []*loadProc
	for i, cont := range inventory.Continents() {
		if len(byContinent[cont]) == 0 {
			continue
		}
		// Registration spreads over every node (the per-address throttle
		// is per node); the session cookie then goes with the user to the
		// node of their continent, as under one front-door name.
		reg := append(append([]string{}, all[i%len(all):]...), all[:i%len(all)]...)
		cfg := load.Config{Client: cont, Nodes: nodes, Prefix: r.prefix, Password: "chaos-password-1",
			Users: usersPerClient, Register: reg, Press: byContinent[cont], Read: byContinent[cont],
			Duration: loadDuration, Settle: loadSettle, ReadEvery: 500 * time.Millisecond, Timeout: 10 * time.Second}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfgPath := filepath.Join(r.dir, cont+".json")
		testutil.WriteFile(t, cfgPath, b, 0o600)
		p := &loadProc{client: cont, out: filepath.Join(r.dir, cont+".jsonl"), exited: make(chan error, 1)}
		p.cmd = exec.Command("ip", "netns", "exec", "ctr-client-"+cont, r.e.bin, "lab", "load", "--config", cfgPath, "--out", p.out)
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
		t.Cleanup(func() { p.stop() })
		ready := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			ready <- line
			io.Copy(io.Discard, stdout)
			p.exited <- p.cmd.Wait()
		}()
		procs = append(procs, p)
		defer func() {
			select {
			case line := <-ready:
				if !strings.HasPrefix(line, "registered ") {
					t.Fatalf("load in client-%s did not register its users: %q\n%s", cont, line, p.stderr.String())
				}
			case <-time.After(4 * time.Minute):
				t.Fatalf("load in client-%s: no registration within 4 min\n%s", cont, p.stderr.String())
			}
		}()
	}
	if len(procs) < 3 {
		t.Fatalf("load from %d continents' clients, want at least 3", len(procs))
	}
	return procs
}

// finish waits for the load process to end by itself (it is bounded) and
// reads its records; past within it is killed by its pid.
func (p *loadProc) finish(t *testing.T, within time.Duration) []load.Record {
	t.Helper()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("load in client-%s: %v\n%s", p.client, err, p.stderr.String())
		}
	case <-time.After(max(within, time.Second)):
		p.stop()
		t.Errorf("load in client-%s did not end by itself; killed", p.client)
	}
	f, err := os.Open(p.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := load.ReadRecords(f)
	if err != nil {
		t.Fatalf("records of client-%s: %v", p.client, err)
	}
	return recs
}

func (p *loadProc) stop() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill() // an error: it has ended already
	}
}
