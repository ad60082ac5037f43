package firewall

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"counter/internal/nspawntest"
	"counter/internal/testutil"
)

// TestRollbackTimerOnSystemd runs the plan's own systemd commands on a
// real systemd, with a marker file instead of nft as the timer's payload:
// confirming in time stops the rollback, a rollback that fired makes the
// confirmation fail, a pending rollback refuses a second apply, and a
// failed one does not block the next.
func TestRollbackTimerOnSystemd(t *testing.T) {
	requireNetAdmin(t)
	c := nspawntest.Boot(t, "ctr-fwt-"+testutil.RandHex(t, 3))
	plan := ApplyPlan(Layout{After: 2 * time.Second})
	arm := func(payload ...string) (string, error) {
		t.Helper()
		for _, cmd := range plan.Apply {
			if cmd.Argv[0] == "systemd-run" {
				argv := append(slices.Clone(cmd.Argv[:slices.Index(cmd.Argv, nftBin)]), payload...)
				return c.Run(argv...)
			}
		}
		t.Fatal("the plan arms no timer")
		return "", nil
	}
	runAll := func(cmds []Command, only string) error {
		t.Helper()
		for _, cmd := range cmds {
			if cmd.Argv[0] != only {
				continue
			}
			if out, err := c.Run(cmd.Argv...); err != nil && !cmd.MayFail {
				return &cmdError{cmd.Argv, err, []byte(out)}
			}
		}
		return nil
	}
	fired := func(marker string) bool {
		_, err := c.Run("test", "-e", marker)
		return err == nil
	}
	waitFired := func(marker string) {
		t.Helper()
		testutil.Eventually(t, 15*time.Second, "rollback ran "+marker, func() bool { return fired(marker) })
	}

	// Confirmed in time: the payload never runs.
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-1"); err != nil {
		t.Fatalf("arm: %v: %s", err, out)
	}
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-x"); err == nil {
		t.Errorf("second arm while a rollback is pending succeeded (%s), want it refused", out)
	}
	if err := runAll(plan.Confirm[:1], "systemctl"); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	// Nothing is left to start the payload: the timer is gone, the service idle.
	for unit, want := range map[string]string{RollbackUnit + ".timer": "LoadState=not-found", RollbackUnit + ".service": "ActiveState=inactive"} {
		prop, _, _ := strings.Cut(want, "=")
		if out, _ := c.Run("systemctl", "show", "-p", prop, unit); strings.TrimSpace(string(out)) != want {
			t.Errorf("after confirm, %s has %s, want %s", unit, strings.TrimSpace(string(out)), want)
		}
	}
	if fired("/run/ctr-fired-1") {
		t.Error("rollback ran although the apply was confirmed")
	}

	// Not confirmed: the payload runs and the confirmation fails.
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-2"); err != nil {
		t.Fatalf("arm: %v: %s", err, out)
	}
	waitFired("/run/ctr-fired-2")
	// Once the timer is gone, confirm fails: the caller reports "rolled back".
	testutil.Eventually(t, 10*time.Second, "confirm fails after the rollback ran", func() bool {
		return runAll(plan.Confirm[:1], "systemctl") != nil
	})

	// A rollback that failed holds the unit name until the plan's reset-failed.
	if out, err := arm("/usr/bin/false"); err != nil {
		t.Fatalf("arm: %v: %s", err, out)
	}
	testutil.Poll(t, 15*time.Second, "failing rollback failed", func(context.Context) error {
		if out, _ := c.Run("systemctl", "is-failed", RollbackUnit+".service"); strings.TrimSpace(out) != "failed" {
			return fmt.Errorf("is-failed says %q", strings.TrimSpace(out))
		}
		return nil
	})
	if err := runAll(plan.Apply, "systemctl"); err != nil {
		t.Fatal(err)
	}
	if out, err := arm("/usr/bin/touch", "/run/ctr-fired-3"); err != nil {
		t.Errorf("arm after the plan's reset-failed: %v: %s", err, out)
	}
}
