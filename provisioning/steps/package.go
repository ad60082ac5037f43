package steps

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"counter/provisioning/host"
	"counter/provisioning/phase"
	"counter/provisioning/sshx"
)

// uploadDir holds a .deb between upload and install; only root enters it.
const uploadDir = "/var/cache/counterctl"

// Package installs the counter .deb (counterd, counterctl, their units)
// built for the node's architecture, unless dpkg already has that exact
// version: the version embeds a hash of the contents.
type Package struct{ c *Cluster }

// Title names the step in reports.
func (Package) Title() string { return "counter package" }

// HostLocal: the .deb is built here and installed on its own, so every
// node installs it at once.
func (Package) HostLocal() {}

// Run installs the package when the node's version differs.
func (s Package) Run(ctx context.Context, h host.Host) (phase.Result, error) {
	out, err := h.Query(ctx, "dpkg", "--print-architecture")
	if err != nil {
		return phase.Result{}, fmt.Errorf("node architecture: %w", err)
	}
	arch := strings.TrimSpace(string(out))
	deb, err := s.c.Packages.Package(ctx, arch)
	if err != nil {
		return phase.Result{}, fmt.Errorf("counter package for %s: %w", arch, err)
	}
	have, err := installedVersion(ctx, h, "counter")
	if err != nil {
		return phase.Result{}, err
	}
	if have == deb.Version {
		return phase.Result{Status: phase.OK}, nil
	}
	what := fmt.Sprintf("install counter %s (%s)", deb.Version, arch)
	if have != "" {
		what += ", replacing " + have
	}
	if h.DryRun() {
		return phase.Result{Status: phase.Changed, Changes: []host.Change{{What: what}}}, nil
	}
	if _, err := ensureDir(ctx, h, uploadDir, 0o700, "root", "root"); err != nil {
		return phase.Result{}, err
	}
	p := path.Join(uploadDir, deb.FileName)
	// Secret keeps a binary out of diffs; the change reported is the install.
	if _, err := h.EnsureFile(ctx, host.File{Path: p, Content: deb.Data, Mode: 0o600, Secret: true}); err != nil {
		return phase.Result{}, fmt.Errorf("upload %s: %w", deb.FileName, err)
	}
	// apt resolves the package's Depends (adduser), which dpkg -i would not.
	if _, err := h.Exec(ctx, what, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y",
		"-o", "DPkg::Lock::Timeout=300", "install", "--no-install-recommends", "--allow-downgrades", "--", p); err != nil {
		return phase.Result{}, err
	}
	if _, err := h.Exec(ctx, "remove "+p, "rm", "-f", "--", p); err != nil {
		return phase.Result{}, err
	}
	return phase.Result{Status: phase.Changed, Changes: []host.Change{{What: what}}}, nil
}

// installedVersion is the installed version of pkg, or "" if it is not installed.
func installedVersion(ctx context.Context, h host.Host, pkg string) (string, error) {
	out, err := h.Query(ctx, versionArgv(pkg)...)
	var xe *sshx.ExitError
	if errors.As(err, &xe) && xe.Code == 1 {
		return "", nil // dpkg has never heard of it
	}
	if err != nil {
		return "", fmt.Errorf("query %s: %w", pkg, err)
	}
	status, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if status != "installed" {
		return "", nil
	}
	return version, nil
}

func versionArgv(pkg string) []string {
	return []string{"dpkg-query", "-W", "-f", "${db:Status-Status} ${Version}", "--", pkg}
}
