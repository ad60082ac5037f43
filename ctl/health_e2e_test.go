//go:build !node

package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/raid"
	"counter/provisioning/sshx"
)

// checkHealth is the health issue's proof on TestProvisionLab's
// provisioned lab (a lab of its own cost a provision, minutes on a 2-core
// machine): all OK exits 0; counterd stopped on a replica exits 2 naming
// it; a partitioned replica exits 1 or 2 naming it; a recorded degraded
// array fed to a node's state file exits 2 naming it. Each disturbance is
// undone and the cluster must settle OK again before the next.
func checkHealth(t *testing.T, e *e2e, inv *inventory.Inventory) {
	invPath := e.inv
	cli := func(timeout time.Duration, args ...string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, e.bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var xe *exec.ExitError
		switch {
		case errors.As(err, &xe):
			return xe.ExitCode(), out.String()
		case err != nil:
			t.Fatalf("counterctl %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return 0, out.String()
	}
	lab := func(timeout time.Duration, args ...string) string {
		t.Helper()
		out, err := e.lab(timeout, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	health := func(args ...string) (int, string) {
		t.Helper()
		start := time.Now()
		code, out := cli(time.Minute, append([]string{"health", "-i", invPath}, args...)...)
		t.Logf("health %s: exit %d in %s\n%s", strings.Join(args, " "), code, time.Since(start).Round(10*time.Millisecond), out)
		return code, out
	}
	// After a disturbance is undone, the cluster settles within a minute.
	settle := func(what string) {
		t.Helper()
		var code int
		var out string
		if err := testutil.WaitEvery(time.Minute, 2*time.Second, func(context.Context) error {
			if code, out = health(); code != 0 {
				return fmt.Errorf("exit %d", code)
			}
			return nil
		}); err != nil {
			t.Fatalf("after %s the cluster is not OK within a minute: exit %d\n%s", what, code, out)
		}
	}

	settle("provision")
	if _, out := health("--output", "json"); !json.Valid([]byte(out)) {
		t.Errorf("--output json is not JSON:\n%s", out)
	}

	t.Run("counterd stopped on a replica", func(t *testing.T) {
		lab(time.Minute, "ssh", "na", "--", "systemctl", "stop", "counterd")
		code, out := health()
		if code != 2 || !strings.Contains(out, "CRITICAL na: counterd /readyz") {
			t.Errorf("exit %d, want 2 with a line naming na's /readyz:\n%s", code, out)
		}
		lab(time.Minute, "ssh", "na", "--", "systemctl", "start", "counterd")
		settle("counterd restart")
	})

	t.Run("partitioned replica", func(t *testing.T) {
		lab(time.Minute, "partition", "asia")
		code, out := health()
		if (code != 1 && code != 2) || !strings.Contains(out, " asia: ") {
			t.Errorf("exit %d, want 1 or 2 with lines naming asia:\n%s", code, out)
		}
		lab(time.Minute, "heal", "asia")
		settle("heal")
	})

	t.Run("degraded array from a recorded report", func(t *testing.T) {
		n, _ := inv.Node("sa")
		conn := host.NewConnector(inv, host.ConnectOptions{ConnectTimeout: 20 * time.Second})
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cl, err := conn.Client(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		// Keep the timer from replacing the fixture while health reads it.
		if _, err := cl.Run(ctx, []string{"systemctl", "stop", raid.TimerUnitName}, sshx.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join("..", "provisioning", "raid", "testdata", "check", "md-degraded.golden.json"))
		if err != nil {
			t.Fatal(err)
		}
		var r raid.Report
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		r.CheckedAt = time.Now()
		b, _ = json.Marshal(r)
		if err := cl.WriteFile(ctx, raid.DefaultStatePath, b, 0o644, "root", "root"); err != nil {
			t.Fatal(err)
		}
		code, out := health()
		if code != 2 || !strings.Contains(out, "CRITICAL sa: raid: md0 (raid10) degraded") {
			t.Errorf("exit %d, want 2 naming sa's degraded md0:\n%s", code, out)
		}
		// The node's own check rewrites the real state.
		for _, argv := range [][]string{{"systemctl", "start", raid.ServiceUnitName}, {"systemctl", "start", raid.TimerUnitName}} {
			if _, err := cl.Run(ctx, argv, sshx.RunOptions{}); err != nil {
				t.Fatal(fmt.Errorf("restore: %w", err))
			}
		}
		settle("the RAID check's own run")
	})
}
