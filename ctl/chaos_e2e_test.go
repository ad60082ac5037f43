//go:build !node

package ctl_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/ctl/chaos"
	"counter/ctl/lab/load"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/sentinel"
	"counter/provisioning/steps"
)

// The load of every scenario: 6 clients × 40 users = 240 distinct users
// pressing once each over loadDuration, readers on every continent.
const (
	usersPerClient = 40
	loadDuration   = 40 * time.Second
	loadSettle     = 30 * time.Second
	faultAt        = 15 * time.Second // after the first press
)

// scenario is one row of docs/chaos.md. act makes the fault (and undoes
// it), marking both on the run; check asserts what the issue promises.
// A scenario whose needs are not on this branch is skipped, saying which:
// the lead clears needs once the branch named is merged.
type scenario struct {
	name  string
	needs string
	act   func(t *testing.T, r *chaosRun)
	check func(t *testing.T, r *chaosRun, res chaos.Result)
}

var scenarios = []scenario{
	{
		name: "1 kill master",
		act: func(t *testing.T, r *chaosRun) {
			r.fault(t, "lab", "kill", "master")
			r.wait(20 * time.Second)
			r.step(t, "lab", "start", "master") // it must come back as a replica
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			defer logStateIfFailed(t, r)
			if !res.Recovered || res.Recovery > 5*time.Second {
				t.Errorf("presses succeeded again after %s (recovered %v), want within 5 s of the kill", res.Recovery, res.Recovered)
			}
			if res.Lost != 0 || res.Double != 0 {
				t.Errorf("%d acknowledged presses lost, %d double; want 0 and 0 while the mirror lives", res.Lost, res.Double)
			}
			if m := checkOneMaster(t, r); m != "mirror" {
				t.Errorf("master after the kill is %s, want the mirror", m)
			}
		},
	},
	{
		name: "2 kill master and mirror",
		act: func(t *testing.T, r *chaosRun) {
			r.fault(t, "lab", "kill", "master", "mirror")
			r.wait(25 * time.Second)
			r.step(t, "lab", "start", "master", "mirror")
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			if res.Double != 0 {
				t.Errorf("%d presses counted twice, want 0", res.Double)
			}
			t.Logf("acknowledged presses lost with master and mirror: %d (the presses acknowledged by the old master not yet on the promoted replica)", res.Lost)
			defer func() {
				if res.Lost > 0 || t.Failed() {
					logRedisState(t, r)
				}
			}()
			if !res.Recovered {
				t.Error("presses never succeeded again after a continental replica should have been promoted")
			}
			if m := checkOneMaster(t, r); m == "master" || m == "mirror" {
				t.Errorf("master is %s, want a continental replica promoted", m)
			}
		},
	},
	{
		name: "3 partition master 30 s",
		act: func(t *testing.T, r *chaosRun) {
			r.fault(t, "lab", "partition", "master")
			r.wait(30 * time.Second)
			r.step(t, "lab", "heal", "master")
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			defer logStateIfFailed(t, r)
			checkNoLoss(t, res)
			if !res.Recovered {
				t.Error("presses never succeeded again after the partition")
			}
			if m := checkOneMaster(t, r); m == "master" {
				t.Error("the partitioned master is master again after heal; want it a replica of the new master")
			}
		},
	},
	{
		name: "4 kill a continental replica",
		act: func(t *testing.T, r *chaosRun) {
			r.fault(t, "lab", "kill", "na")
			r.wait(15 * time.Second)
			r.repair(t, "lab", "start", "na")
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
			r.fault(t, append([]string{"lab", "kill"}, names...)...)
			r.wait(5 * time.Second)
			r.repair(t, append([]string{"lab", "start"}, names...)...)
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			defer logStateIfFailed(t, r)
			checkNoLoss(t, res)
			if !res.Recovered {
				t.Error("presses never succeeded again after every node was started")
			}
			checkOneMaster(t, r)
		},
	},
	{
		name: "6 failover --to mirror and back",
		act: func(t *testing.T, r *chaosRun) {
			// run starts every scenario with the first master live.
			r.fault(t, "failover", "-i", r.e.inv, "--to", "mirror")
			r.wait(10 * time.Second)
			r.step(t, "failover", "-i", r.e.inv, "--to", "master")
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			if res.Lost != 0 || res.Double != 0 {
				t.Errorf("%d lost, %d double in a planned switchover, want 0 and 0", res.Lost, res.Double)
			}
			for k, n := range res.Errors {
				if k != "press 503+retry" {
					t.Errorf("%d × %s in a planned switchover: want only brief 503s with Retry-After", n, k)
				}
			}
			if m := checkOneMaster(t, r); m != "master" {
				t.Errorf("master after the switchover and back is %s, want master", m)
			}
		},
	},
	{
		name: "7 provision after 1",
		act: func(t *testing.T, r *chaosRun) {
			r.fault(t, "lab", "kill", "master")
			r.wait(20 * time.Second)
			r.step(t, "lab", "start", "master")
		},
		check: func(t *testing.T, r *chaosRun, res chaos.Result) {
			defer logStateIfFailed(t, r)
			// The same kill as scenario 1, the same guarantee: in the CI
			// run of 2026-12-03 09:20 this one lost 19 acknowledged
			// presses, which it did not check then.
			checkNoLoss(t, res)
			if !res.Recovered {
				t.Error("presses never succeeded again after the kill")
			}
			master := checkOneMaster(t, r)
			before := servicePIDs(t, r.e, r.inv, "redis-server.service", "redis-sentinel.service", "counterd.service")
			if out, _, err := r.e.provision(10 * time.Minute); err != nil {
				t.Fatalf("provision after the failover: %v\n%s", err, out)
			}
			if after := servicePIDs(t, r.e, r.inv, "redis-server.service", "redis-sentinel.service", "counterd.service"); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("provision restarted services: MainPIDs %v before, %v after", before, after)
			}
			if m := checkOneMaster(t, r); m != master {
				t.Errorf("provision changed the master from %s to %s", master, m)
			}
		},
	},
}

// chaosSuite is `make chaos`: the scenarios under a steady load of
// browsers' presses and reads from every continent, on e's provisioned lab.
func chaosSuite(t *testing.T, e *e2e) {
	start := time.Now()
	inv, err := inventory.Load(e.inv)
	if err != nil {
		t.Fatal(err)
	}
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
			t.Logf("scenario took %s; users %d, unknown %d; value before %d, final %d\n%s\n%s", time.Since(scStart).Round(time.Second),
				res.Users, res.Unknown, r.win.Before, r.win.Final, chaos.TableHeader, row)
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

// logStateIfFailed is logRedisState for a check that failed (deferred: a
// Fatal in checkOneMaster still logs it).
func logStateIfFailed(t *testing.T, r *chaosRun) {
	if t.Failed() {
		logRedisState(t, r)
	}
}

// logRedisState logs, for every node, what its Redis keeps on disk, its
// replication now, and what Redis and Sentinel did since the node booted,
// to explain a loss.
func logRedisState(t *testing.T, r *chaosRun) {
	t.Helper()
	// Redis and Sentinel log to their files (logfile in their
	// configuration), not to the journal; both files survive a kill.
	for _, node := range r.dataNodes() {
		out, err := r.e.lab(time.Minute, "ssh", node, "--", "sh", "-c",
			"grep -E '^(appendonly|save|replicaof|replica-priority) ' /etc/redis/redis.conf; ls -la --time-style=full-iso /var/lib/redis /var/lib/redis/appendonlydir; "+
				"grep -vE 'WARNING|overcommit' /var/log/redis/redis-server.log | tail -n 60; "+
				"echo '--- sentinel'; tail -n 120 /var/log/redis/redis-sentinel.log")
		t.Logf("redis on %s (%v):\n%s", node, err, out)
		// The sentinel's runtime timings (redisconf.SentinelTune sets them).
		out, err = r.e.lab(time.Minute, append([]string{"ssh", node, "--"}, sentinel.Provisioned().Argv("SENTINEL", "DEBUG")...)...)
		t.Logf("SENTINEL DEBUG on %s (%v): %s", node, err, strings.Join(strings.Fields(out), " "))
	}
}

// checkOneMaster: exactly one node says role:master in its INFO, every
// other one replicates from it with its link up. It returns its name.
func checkOneMaster(t *testing.T, r *chaosRun) string {
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
	return masters[0].Name
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
	r.fromFirstMaster()
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
	r.keepRecords()
	return chaos.Analyze(sc.name, recs, r.win)
}

// fromFirstMaster makes the inventory's first master the live one again,
// by a planned switchover, when an earlier scenario left another node
// master. Each scenario then starts from the roles it is written for,
// whichever ran before it: in the CI run of 45e1541, scenario 2 had
// promoted na, so scenario 3 cut off a replica and scenario 4 killed the
// master.
func (r *chaosRun) fromFirstMaster() {
	t := r.t
	t.Helper()
	first := r.inv.Master().Name
	if live := checkOneMaster(t, r); live != first {
		t.Logf("the master is %s after the scenarios before: switching over to %s first", live, first)
		r.step(t, "failover", "-i", r.e.inv, "--to", first)
		if live := checkOneMaster(t, r); live != first {
			t.Fatalf("master after the switchover to %s is %s", first, live)
		}
	}
}

// keepRecords copies the scenario's load records (one JSON line per
// request) to $COUNTER_CHAOS_RECORDS/<scenario prefix>/ when that is set,
// so a run can be studied after the lab is gone.
func (r *chaosRun) keepRecords() {
	dir := os.Getenv("COUNTER_CHAOS_RECORDS")
	if dir == "" {
		return
	}
	dst := filepath.Join(dir, r.prefix)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		r.t.Errorf("keep records: %v", err)
		return
	}
	files, _ := filepath.Glob(filepath.Join(r.dir, "*.jsonl"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
		}
		if err != nil {
			r.t.Errorf("keep records: %v", err)
		}
	}
	r.t.Logf("load records kept in %s (fault at %s UTC)", dst, r.win.Fault.UTC().Format("15:04:05.000"))
}

// fault runs counterctl ARGS and marks the fault at its start.
func (r *chaosRun) fault(t *testing.T, args ...string) {
	t.Helper()
	r.win.Fault = r.step(t, args...)
}

// repair runs counterctl ARGS and marks the repair at its start: the
// recovery time then counts from it.
func (r *chaosRun) repair(t *testing.T, args ...string) {
	t.Helper()
	r.win.Repair = r.step(t, args...)
}

// step runs counterctl ARGS (`lab ...` on the run's lab) and returns when
// it started.
func (r *chaosRun) step(t *testing.T, args ...string) time.Time {
	t.Helper()
	at := time.Now()
	var out string
	var err error
	if args[0] == "lab" {
		out, err = r.e.lab(5*time.Minute, args[1:]...)
	} else {
		out, err = r.e.run(5*time.Minute, args...)
	}
	if err != nil {
		t.Fatalf("counterctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	when := "before the load" // a step that sets the scene: no first press yet
	if !r.start.IsZero() {
		when = "+" + at.Sub(r.start).Round(100*time.Millisecond).String()
	}
	t.Logf("%s (%s UTC): counterctl %s (%s)", when, at.UTC().Format("15:04:05.000"),
		strings.Join(args, " "), time.Since(at).Round(100*time.Millisecond))
	if args[0] != "lab" { // counterctl's own account of its steps (a switchover's, timed)
		t.Logf("its output:\n%s", out)
	}
	return at
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
	return valueEverywhere(r.t, r.inv, within)
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
		nodes[n.Name] = "https://" + n.Address
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
			Duration: loadDuration, Settle: loadSettle, ReadEvery: 500 * time.Millisecond, Timeout: 15 * time.Second,
			CAFile: filepath.Join(r.inv.PKIDir, "ca.crt")}
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
