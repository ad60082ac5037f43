package lab_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"counter/ctl/lab"
	"counter/ctl/lab/labtest"
)

// in is c reporting to t: a subtest's must then fails the subtest only.
func (c *labCLI) in(t *testing.T) *labCLI {
	cc := *c
	cc.t = t
	return &cc
}

// faultsTopology is the smallest lab that shows the faults: a master, two
// replicas on other continents, dns, and a client beside one replica.
const faultsTopology = `nodes:
  - {name: master, continent: eu, datacenter: eu, role: master}
  - {name: na, continent: na, role: replica}
  - {name: sa, continent: sa, role: replica}
  - {name: dns, continent: eu, datacenter: eu, role: dns}
clients: [na]
`

// TestLabFaults checks what the chaos suite needs from the lab: several
// nodes killed and started by one command, and a partition that cuts a
// node off from every other member while the host still reaches it.
func TestLabFaults(t *testing.T) {
	labtest.Require(t, "LAB FAULTS E2E", "ping")
	traceBefore := labtest.TraceBefore(t)
	c := &labCLI{t: t, bin: labtest.BuildCounterctl(t), stateDir: t.TempDir()}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.stateDir, "lab.json")); err == nil {
			if _, err := c.run(time.Minute, "down"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	topo := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := os.WriteFile(topo, []byte(faultsTopology), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must(6*time.Minute, "up", "--nodes", topo)
	st, err := lab.LoadState(c.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(name string) string {
		m, ok := st.Plan.Member(name)
		if !ok {
			t.Fatalf("no member %s in the plan", name)
		}
		return m.Address.String()
	}

	t.Run("kill and start several at once", func(t *testing.T) {
		c := c.in(t)
		pids := []int{st.Containers["na"].PID, st.Containers["sa"].PID}
		c.must(time.Minute, "kill", "na", "sa")
		for _, pid := range pids {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z") {
				t.Errorf("nspawn pid %d still runs after lab kill na sa", pid)
			}
		}
		out := c.must(time.Minute, "status")
		for _, n := range []string{"na", "sa"} {
			if !regexp.MustCompile(`(?m)^` + n + `\s.*\sdown\s`).MatchString(out) {
				t.Errorf("status after lab kill na sa does not show %s down:\n%s", n, out)
			}
		}
		if !regexp.MustCompile(`(?m)^master\s.*\sup\b`).MatchString(out) {
			t.Errorf("lab kill na sa took the master down too:\n%s", out)
		}
		c.must(3*time.Minute, "start", "na", "sa")
		for _, n := range []string{"na", "sa"} {
			if !aliveByState(t, c.stateDir, n) {
				t.Errorf("%s is not running after lab start na sa", n)
			}
			if out, err := c.run(time.Minute, "ssh", n, "--", "hostname"); err != nil || strings.TrimSpace(out) != n {
				t.Errorf("ssh %s after lab start = %q, %v", n, out, err)
			}
		}
	})

	t.Run("partition keeps the host's path", func(t *testing.T) {
		c := c.in(t)
		reaches := func(from, to string) bool {
			_, err := c.run(time.Minute, "exec", from, "--", "ping", "-c", "1", "-W", "2", addr(to))
			return err == nil
		}
		hostReaches := func(to string) bool {
			return exec.Command("ping", "-c", "1", "-W", "2", addr(to)).Run() == nil
		}
		c.must(time.Minute, "partition", "na")
		for _, p := range [][2]string{{"client-na", "na"}, {"master", "na"}, {"na", "master"}, {"na", "dns"}} {
			if reaches(p[0], p[1]) {
				t.Errorf("%s still reaches %s while na is partitioned", p[0], p[1])
			}
		}
		if !reaches("client-na", "sa") || !reaches("master", "sa") {
			t.Error("partitioning na cut traffic between other members")
		}
		if !hostReaches("na") {
			t.Error("the host lost its path to na when it was partitioned")
		}
		if out, err := c.run(time.Minute, "ssh", "na", "--", "hostname"); err == nil {
			t.Errorf("ssh to na through the master works while na is partitioned: %q", out)
		}
		if !aliveByState(t, c.stateDir, "na") {
			t.Error("na stopped running when partitioned; it must stay up")
		}
		out := c.must(time.Minute, "status")
		if !regexp.MustCompile(`(?m)^na\s.*partitioned`).MatchString(out) {
			t.Errorf("status does not show na partitioned:\n%s", out)
		}

		c.must(time.Minute, "heal", "na")
		for _, p := range [][2]string{{"client-na", "na"}, {"master", "na"}, {"na", "dns"}} {
			if !reaches(p[0], p[1]) {
				t.Errorf("%s does not reach %s after heal", p[0], p[1])
			}
		}
		if out, err := exec.Command("ip", "netns", "exec", "ctr-wan", "nft", "list", "tables").CombinedOutput(); err != nil || strings.Contains(string(out), "ctr_partition") {
			t.Errorf("router tables after heal: %q, %v; want no ctr_partition", out, err)
		}
	})

	c.must(time.Minute, "down")
	labtest.CheckNoTrace(t, traceBefore, c.stateDir)
}
