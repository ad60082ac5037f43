package firewall

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"counter/internal/testutil"
)

// TestGoldenRulesetsPassNft checks every golden ruleset with Debian's nft
// (-c: the kernel validates the transaction, nothing is applied), inside a
// namespace of the test's own all the same.
func TestGoldenRulesetsPassNft(t *testing.T) {
	requireNetAdmin(t)
	ns := newNetns(t, testutil.RandHex(t, 3), "c")
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.name+".nft")
			if out, err := exec.Command("ip", inNetns(ns, "nft", "-c", "-f", path)[1:]...).CombinedOutput(); err != nil {
				t.Errorf("nft -c -f %s: %v\n%s", path, err, out)
			}
		})
	}
}

// planRunner runs a Plan's commands inside a namespace. There is no
// systemd in the test, so systemctl and systemd-run are recorded instead
// of run, and the test fires the rollback timer itself.
type planRunner struct {
	t      *testing.T
	ns     string
	armed  []string // the command the rollback timer would run
	system [][]string
}

func (r *planRunner) run(cmds []Command) error {
	r.t.Helper()
	for _, c := range cmds {
		switch c.Argv[0] {
		case "systemctl":
			r.system = append(r.system, c.Argv)
			continue
		case "systemd-run":
			r.system = append(r.system, c.Argv)
			i := slices.Index(c.Argv, nftBin)
			if i < 0 {
				r.t.Fatalf("systemd-run runs no %s: %q", nftBin, c.Argv)
			}
			r.armed = c.Argv[i:]
			continue
		}
		out, err := exec.Command("ip", inNetns(r.ns, c.Argv...)[1:]...).CombinedOutput()
		if err != nil && !c.MayFail {
			return &cmdError{c.Argv, err, out}
		}
	}
	return nil
}

// fire does what the rollback timer does when nobody confirms.
func (r *planRunner) fire() {
	r.t.Helper()
	if r.armed == nil {
		r.t.Fatal("no rollback was armed")
	}
	testutil.Run(r.t, inNetns(r.ns, r.armed...)...)
	r.armed = nil
}

type cmdError struct {
	argv []string
	err  error
	out  []byte
}

func (e *cmdError) Error() string {
	return strings.Join(e.argv, " ") + ": " + e.err.Error() + ": " + string(e.out)
}

// TestApplyPlanRollsBackUnlessConfirmed walks the plan in a namespace:
// an unconfirmed apply is undone by what the timer runs (also when there
// was no table before), a confirmed one becomes the live file, and a
// ruleset nft rejects never reaches the kernel.
func TestApplyPlanRollsBackUnlessConfirmed(t *testing.T) {
	requireNetAdmin(t)
	ns := newNetns(t, testutil.RandHex(t, 3), "p")
	dir := t.TempDir()
	layout := Layout{Live: filepath.Join(dir, "nftables.d", "counter.nft"), StateDir: filepath.Join(dir, "state"), Unit: "ctr-fwt-rollback"}
	plan := ApplyPlan(layout)
	r := &planRunner{t: t, ns: ns}

	oldRules, newRules := renderSSHPort(t, 22), renderSSHPort(t, 2222)
	stage := func(rules []byte) {
		t.Helper()
		if err := r.run(plan.Prepare); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(plan.Staged, rules, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sshPort := func() string {
		t.Helper()
		out, err := exec.Command("ip", inNetns(ns, "nft", "list", "chain", "inet", Table, "input")[1:]...).CombinedOutput()
		switch {
		case err != nil && strings.Contains(string(out), "No such file"):
			return "no table"
		case err != nil:
			t.Fatalf("nft list chain: %v: %s", err, out)
		case strings.Contains(string(out), "tcp dport 2222 accept"):
			return "2222"
		case strings.Contains(string(out), "tcp dport 22 accept"):
			return "22"
		}
		t.Fatalf("no ssh rule in:\n%s", out)
		return ""
	}
	step := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: ssh port = %s, want %s", name, got, want)
		}
	}

	stage(oldRules)
	if err := r.run(plan.Apply); err != nil {
		t.Fatal(err)
	}
	step("applied on a node without the table", sshPort(), "22")
	r.fire()
	step("rolled back to no table", sshPort(), "no table")
	if _, err := os.Stat(layout.Live); !os.IsNotExist(err) {
		t.Fatalf("live file after a rollback: stat = %v, want not exist", err)
	}

	stage(oldRules)
	if err := r.run(plan.Apply); err != nil {
		t.Fatal(err)
	}
	if err := r.run(plan.Confirm); err != nil {
		t.Fatal(err)
	}
	step("confirmed", sshPort(), "22")
	assertFile(t, layout.Live, oldRules, 0o644)
	if left, _ := filepath.Glob(filepath.Join(layout.StateDir, "*")); len(left) != 0 {
		t.Errorf("state files left after confirm: %v", left)
	}

	stage(newRules)
	if err := r.run(plan.Apply); err != nil {
		t.Fatal(err)
	}
	step("new rules applied", sshPort(), "2222")
	r.fire()
	step("unconfirmed new rules rolled back", sshPort(), "22")
	assertFile(t, layout.Live, oldRules, 0o644)

	stage([]byte("table inet " + Table + " {\n\tchain input {\n\t\ttcp dport nonsense accept\n\t}\n}\n"))
	err := r.run(plan.Apply)
	if err == nil || !strings.Contains(err.Error(), " -c ") {
		t.Fatalf("Apply of a broken ruleset = %v, want the nft -c check to fail", err)
	}
	step("broken ruleset refused", sshPort(), "22")

	stage(newRules)
	if err := r.run(plan.Apply); err != nil {
		t.Fatal(err)
	}
	if err := r.run(plan.Cancel); err != nil {
		t.Fatal(err)
	}
	step("cancelled", sshPort(), "22")

	want := [][]string{
		{"systemd-run", "--quiet", "--unit=ctr-fwt-rollback"},
		{"systemctl", "stop", "ctr-fwt-rollback.timer"},
		{"systemctl", "enable", "--quiet", "nftables.service"},
	}
	for _, w := range want {
		if !slices.ContainsFunc(r.system, func(got []string) bool { return len(got) >= len(w) && slices.Equal(got[:len(w)], w) }) {
			t.Errorf("plan never ran %q; systemd commands: %q", w, r.system)
		}
	}
}

func renderSSHPort(t *testing.T, port uint16) []byte {
	t.Helper()
	p := cluster(Replica)
	p.Ports.SSH = port
	b, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func assertFile(t *testing.T, path string, want []byte, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s holds %d bytes not the ones expected (%d)", path, len(got), len(want))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
		t.Errorf("%s: mode = %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
	}
}
