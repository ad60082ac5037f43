package debpkg

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// Compiler cross-builds counterd and the node's counterctl with the local
// Go toolchain.
type Compiler struct {
	Go        string   // the go command; empty means "go" from PATH
	ModuleDir string   // root of the counter module (holds go.mod)
	CacheDir  string   // binaries land in CacheDir/<version>/<debarch>/
	Env       []string // base environment; nil means os.Environ()
}

// Binaries are the paths of both programs built for one Target.
type Binaries struct {
	Counterd   string
	Counterctl string
}

// buildVersion is what may go into -X and a cache path: no separators, no
// spaces, no leading dot.
var buildVersion = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+~_-]*$`)

// Build compiles both programs for t, stamped with version, into the cache.
// It always runs go build, which relinks only when an input changed: the
// outputs stay in place between runs, so go sees them up to date (a link
// of both costs 4-10 s on a busy 2-core machine, the check about 1 s). A
// cache keyed only by version could serve stale code for "dev".
// -trimpath makes the output, build ID included, depend only on the
// source, version and target, so Version of the package built from it is
// stable.
func (c Compiler) Build(ctx context.Context, version string, t Target) (Binaries, error) {
	if !buildVersion.MatchString(version) {
		return Binaries{}, fmt.Errorf("build version %q: want letters, digits and . + ~ _ - only", version)
	}
	if t.GOARCH == "" || t.DebArch == "" {
		return Binaries{}, fmt.Errorf("build %s: empty target (use ParseArch)", version)
	}
	dir := filepath.Join(c.CacheDir, version, t.DebArch)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("build cache: %w", err)
	}
	// go build links in GOTMPDIR and renames the result into place when
	// both sit on one file system, so a killed build never leaves a
	// half-written binary that go would then take for up to date; the
	// lock keeps a concurrent run from reading while go replaces one.
	unlock, err := lockDir(dir)
	if err != nil {
		return Binaries{}, fmt.Errorf("build cache: %w", err)
	}
	defer unlock()
	tmp := filepath.Join(dir, ".tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("build cache: %w", err)
	}

	goCmd := c.Go
	if goCmd == "" {
		goCmd = "go"
	}
	// -tags node: the package's counterctl is the node's build, without
	// the lab, the provisioning and this .deb builder (see ctl/root.go).
	args := []string{"build", "-trimpath", "-buildvcs=false", "-tags=node",
		"-ldflags=-s -w -X counter/internal/buildinfo.Version=" + version}
	// Position-independent where Go links PIE itself (no C toolchain):
	// ASLR on the nodes, and lintian sees a hardened, dynamic ELF.
	switch t.GOARCH {
	case "amd64", "arm64", "ppc64le":
		args = append(args, "-buildmode=pie")
	}
	args = append(args, "-o", dir+string(filepath.Separator), "./cmd/counterd", "./cmd/counterctl")
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = c.ModuleDir
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	// Later entries win in os/exec, so these override the caller's.
	cmd.Env = append(append([]string{}, env...),
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+t.GOARCH, "GOARM="+t.GOARM, "GOTMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("go build for %s: %w: %s", t.DebArch, err, strings.TrimSpace(stderr.String()))
	}
	return Binaries{Counterd: filepath.Join(dir, "counterd"), Counterctl: filepath.Join(dir, "counterctl")}, nil
}

// lockDir holds an exclusive flock on dir/.lock until the returned func.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
