//go:build !node

package ctl

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"counter/internal/testutil"
)

// TestManPages renders every page the package ships and has man(1) format
// each one with its warnings on: a page man complains about is a bug in it.
func TestManPages(t *testing.T) {
	pages, err := ManPages(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// A page for every command a user can run on a node, and none for
	// the admin's commands, which the package does not carry.
	var want []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c.Parent() != nil || c.IsAdditionalHelpTopicCommand() {
			return
		}
		want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newNodeRootCmd(io.Discard, io.Discard))
	want = append(want, "counterd.8")
	for _, name := range want {
		if _, ok := pages[name]; !ok {
			t.Errorf("no manual page %s", name)
		}
	}
	if len(pages) != len(want) {
		t.Errorf("%d pages, want %d (%v)", len(pages), len(want), want)
	}
	for _, flag := range []string{"listen", "redis", "master", "max-staleness", "auth-mode", "tls-cert", "log-format"} {
		if !bytes.Contains(pages["counterd.8"], []byte(`\fB--`+flag+`\fP`)) {
			t.Errorf("counterd.8 does not document --%s", flag)
		}
	}
	if !bytes.Contains(pages["counterd.8"], []byte("COUNTERD_MAX_STALENESS")) {
		t.Error("counterd.8 does not name the environment variables")
	}

	testutil.NeedTool(t, "man", "man-db") // to format the pages
	dir := t.TempDir()
	for name, page := range pages {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, page, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(t.Context(), "man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C.UTF-8")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man %s: %v\n%s", name, err, stderr.String())
		}
	}
}
