package daemon

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cpuguy83/go-md2man/v2/md2man"

	"counter/internal/testutil"
)

func TestUnitFileHardening(t *testing.T) {
	for _, want := range []string{"User=counterd", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
		"PrivateTmp=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"EnvironmentFile=-/etc/default/counterd", "/etc/counterd/counterd.yaml", "Restart=on-failure"} {
		if !strings.Contains(UnitFile, want+"\n") && !strings.Contains(UnitFile, want+" ") {
			t.Errorf("unit file lacks %q", want)
		}
	}
}

func TestUnitFileVerifies(t *testing.T) {
	analyze := testutil.NeedTool(t, "systemd-analyze", "systemd")
	// verify wants ExecStart to exist: point it at a stand-in executable.
	dir := t.TempDir()
	bin := filepath.Join(dir, "counterd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "counterd.service")
	if err := os.WriteFile(unit, []byte(strings.Replace(UnitFile, "/usr/bin/counterd", bin, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// verify also asks man for the Documentation= page: give it the one the package ships.
	var md bytes.Buffer
	if err := Manual(&md, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "man", "man8"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "man", "man8", "counterd.8"), md2man.Render(md.Bytes()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), analyze, "verify", unit)
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(dir, "man"))
	out, err := cmd.CombinedOutput()
	// Outside a booted systemd, verify may warn about the host (not our unit): only lines naming our unit count.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "counterd.service") {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
