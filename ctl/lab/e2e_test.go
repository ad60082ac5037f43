package lab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"counter/ctl/lab"
	"counter/ctl/lab/labtest"
	"counter/provisioning/inventory"
)

// labCLI drives a counterctl binary built for the test against one state dir.
type labCLI struct {
	t        *testing.T
	bin      string
	stateDir string
}

func (c *labCLI) run(timeout time.Duration, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv := append([]string{"lab", "--state-dir", c.stateDir, "--cache-dir", "/var/cache/counter-lab"}, args...)
	cmd := exec.CommandContext(ctx, c.bin, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("counterctl %s: %w\nstdout: %s\nstderr: %s", strings.Join(argv, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

func (c *labCLI) must(timeout time.Duration, args ...string) string {
	c.t.Helper()
	out, err := c.run(timeout, args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// TestLabEndToEnd brings the default lab up from the CLI and checks what
// the issue promises: booted systemd over verified SSH, TSIG-only DNS
// updates, WAN RTTs, the chaos commands, and a clean `lab down`.
func TestLabEndToEnd(t *testing.T) {
	labtest.Require(t, "LAB E2E", "ssh", "ping")
	forwardWas, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	traceBefore := labtest.TraceBefore(t)

	bin := labtest.BuildCounterctl(t)
	c := &labCLI{t: t, bin: bin, stateDir: t.TempDir()}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.stateDir, "lab.json")); err == nil {
			if _, err := c.run(time.Minute, "down"); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})

	t.Run("refusals create nothing", func(t *testing.T) {
		testRefusals(t, c)
	})

	start := time.Now()
	out := c.must(6*time.Minute, "up")
	t.Logf("lab up took %s:\n%s", time.Since(start).Round(time.Second), out)
	st, err := lab.LoadState(c.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	if out := c.must(time.Minute, "up"); !strings.Contains(out, "nothing changed") {
		t.Errorf("second lab up = %q, want it to change nothing and say so", out)
	}

	t.Run("inventory loads and points at real files", func(t *testing.T) {
		inv, err := inventory.Load(filepath.Join(c.stateDir, "inventory.yaml"))
		if err != nil {
			t.Fatalf("provisioning cannot load the lab's inventory: %v", err)
		}
		for _, n := range inv.Nodes {
			m, ok := st.Plan.Member(n.Name)
			if !ok || m.Address.String() != n.Address || m.Kind != lab.KindNode {
				t.Errorf("inventory node %s at %s does not match the lab's %+v", n.Name, n.Address, m)
			}
			for _, f := range []string{n.SSH.KeyFile, n.SSH.KnownHosts} {
				if _, err := os.Stat(f); err != nil {
					t.Errorf("node %s: %v", n.Name, err)
				}
			}
		}
		if secret, err := inv.TSIGSecret(); err != nil || len(secret) == 0 {
			t.Errorf("TSIG secret from the inventory: %q, %v", secret, err)
		}
		for _, s := range []string{"redis_counterd_password", "redis_replication_password",
			"redis_sentinel_password", "sentinel_peer_password", "sentinel_counterctl_password"} {
			if v, err := inv.Secret(s); err != nil || len(v) < 16 {
				t.Errorf("secret %s: %d bytes, %v", s, len(v), err)
			}
		}
	})

	t.Run("status shows every member up", func(t *testing.T) {
		out := c.must(time.Minute, "status")
		for _, m := range st.Plan.Members {
			if !regexp.MustCompile(`(?m)^` + m.Name + `\s.*\s` + regexp.QuoteMeta(m.Address.String()) + `\s+up\b`).MatchString(out) {
				t.Errorf("status does not show %s (%s) up:\n%s", m.Name, m.Address, out)
			}
		}
	})

	t.Run("systemd runs in every container, over verified ssh", func(t *testing.T) {
		parallel(st.Plan.Containers(), func(m lab.Member) {
			out, err := c.run(2*time.Minute, "ssh", m.Name, "--", "systemctl", "is-system-running", "--wait")
			state := strings.TrimSpace(out)
			if state != "running" && state != "degraded" {
				t.Errorf("%s: systemctl is-system-running = %q (%v), want running or degraded", m.Name, state, err)
			}
		})
		out := c.must(time.Minute, "ssh", "na", "--", "hostname")
		if strings.TrimSpace(out) != "na" {
			t.Errorf("hostname of na = %q, want na", out)
		}
	})

	t.Run("dns takes signed updates only", func(t *testing.T) {
		testDNSUpdates(t, st, c.stateDir)
	})

	t.Run("ping RTTs follow the matrix", func(t *testing.T) {
		testRTTs(t, c, st)
	})

	t.Run("kill and start", func(t *testing.T) {
		c.must(time.Minute, "ssh", "na", "--", "touch", "/root/survives-power-cut")
		pid := st.Containers["na"].PID
		c.must(time.Minute, "kill", "na")
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z") {
				t.Errorf("nspawn pid %d of na still runs after lab kill", pid)
			}
		}
		if na, _ := st.Plan.Member("na"); tcpOpen(net.JoinHostPort(na.Address.String(), "22")) {
			t.Error("na's sshd still answers after lab kill")
		}
		if out := c.must(time.Minute, "status"); !regexp.MustCompile(`(?m)^na\s.*\sdown\s`).MatchString(out) {
			t.Errorf("status after kill does not show na down:\n%s", out)
		}
		c.must(2*time.Minute, "start", "na")
		if out, err := c.run(time.Minute, "ssh", "na", "--", "test", "-e", "/root/survives-power-cut"); err != nil {
			t.Errorf("na did not boot on its old overlay (marker file gone): %v %s", err, out)
		}
	})

	t.Run("partition and heal", func(t *testing.T) {
		asia, _ := st.Plan.Member("asia")
		c.must(time.Minute, "partition", "asia")
		if _, err := c.run(time.Minute, "exec", "client-asia", "--", "ping", "-c", "2", "-W", "1", asia.Address.String()); err == nil {
			t.Error("client-asia still reaches asia after lab partition asia")
		}
		if !aliveByState(t, c.stateDir, "asia") {
			t.Error("asia's container stopped running when partitioned; it must stay up")
		}
		c.must(time.Minute, "heal", "asia")
		if out, err := c.run(time.Minute, "exec", "client-asia", "--", "ping", "-c", "2", "-W", "2", asia.Address.String()); err != nil {
			t.Errorf("client-asia cannot reach asia after heal: %v %s", err, out)
		}
	})

	start = time.Now()
	c.must(time.Minute, "down")
	t.Logf("lab down took %s", time.Since(start).Round(100*time.Millisecond))
	checkNothingLeft(t, st, c.stateDir, strings.TrimSpace(string(forwardWas)))
	labtest.CheckNoTrace(t, traceBefore, c.stateDir)
}

func parallel(ms []lab.Member, fn func(lab.Member)) {
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { fn(m) })
	}
	wg.Wait()
}

func tcpOpen(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
	}
	return err == nil
}

func aliveByState(t *testing.T, stateDir, name string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "lab.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Containers map[string]lab.Proc `json:"containers"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Containers[name].Alive()
}

var pingTime = regexp.MustCompile(`time=([0-9.]+) ms`)

// ping runs ping inside a member's namespace and returns the median RTT: the
// emulated delay is constant, and a median ignores the odd reply that a busy
// CI host delays on its way through the ping process itself.
func ping(c *labCLI, from string, to string) (time.Duration, error) {
	out, err := c.run(time.Minute, "exec", from, "--", "ping", "-n", "-c", "7", "-i", "0.2", "-W", "2", to)
	if err != nil {
		return 0, err
	}
	var rtts []time.Duration
	for _, m := range pingTime.FindAllStringSubmatch(out, -1) {
		ms, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, err
		}
		rtts = append(rtts, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(rtts) < 5 {
		return 0, fmt.Errorf("%d replies of 7 in ping output %q", len(rtts), out)
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2], nil
}
