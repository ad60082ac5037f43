package lab

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestHostToolsCoverDocumentedExec: every command the READMEs run with
// `lab exec CLIENT -- CMD` (clients are plain namespaces, so CMD is the
// host's) is a host tool CheckHost installs, so the examples work on a
// fresh machine.
func TestHostToolsCoverDocumentedExec(t *testing.T) {
	var tools []string
	for _, ht := range hostTools {
		tools = append(tools, ht.cmd)
	}
	execLine := regexp.MustCompile(`lab exec \S+ -- (\S+)`)
	for _, path := range []string{"README.md", "../../README.md"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ms := execLine.FindAllSubmatch(b, -1)
		if len(ms) == 0 {
			t.Errorf("%s has no `lab exec` example; the test reads nothing", path)
		}
		for _, m := range ms {
			if cmd := string(m[1]); !slices.Contains(tools, cmd) {
				t.Errorf("%s runs `lab exec … -- %s`, but %s is not among the host tools %v", path, cmd, cmd, tools)
			}
		}
	}
}
