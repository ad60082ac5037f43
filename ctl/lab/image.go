package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// basePackages are the image's packages beyond minbase: a booting systemd, sshd
// for provisioning, and what an admin needs to reach and debug a node. Redis and
// counterd are not here: provisioning installs them.
var basePackages = []string{
	"systemd", "systemd-sysv", "dbus", "openssh-server", "openssh-sftp-server",
	"iproute2", "ca-certificates", "iputils-ping", "procps", "netbase",
}

// imageRevision changes whenever customiseBase does, so cached images are rebuilt.
const imageRevision = 2

// layerPackages are installed once into a cached layer over the base.
var layerPackages = map[string][]string{"knot": {"knot"}}

// sshdDropIn makes root login key-only and uses the one host key the lab
// generates per node.
const sshdDropIn = `# counterctl lab: key-only root login, one per-node ed25519 host key.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
`

// Images builds and caches the lab's root file systems under dir.
type Images struct {
	Dir    string
	Mirror *Mirror
	Log    *slog.Logger
}

// Base returns the cached base image, building it first if it is missing or
// was made from another package list or mirror.
func (im *Images) Base(ctx context.Context) (string, error) {
	unlock, err := lockFile(filepath.Join(im.Dir, "lock"), "the image cache "+im.Dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	dir := filepath.Join(im.Dir, Suite+"-base")
	stamp := fmt.Sprintf("%s %s rev%d\n%s\n", Suite, im.Mirror.Archive, imageRevision, strings.Join(basePackages, ","))
	if cached(dir, stamp) {
		return dir, nil
	}
	im.Log.Info("building the base image with debootstrap (once; cached after)", "dir", dir, "mirror", im.Mirror.Archive)
	start := time.Now()
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if _, err := run(ctx, "debootstrap", "--variant=minbase", "--include="+strings.Join(basePackages, ","),
		Suite, tmp, im.Mirror.Archive); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("debootstrap: %w", err)
	}
	if err := customiseBase(tmp, im.Mirror); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("customise base image: %w", err)
	}
	if err := replaceDir(tmp, dir, stamp); err != nil {
		return "", err
	}
	im.Log.Info("base image ready", "took", time.Since(start).Round(time.Second))
	return dir, nil
}

// Layer returns the cached overlay layer name (e.g. "knot") over base,
// building it with apt-get in a throw-away container if missing.
func (im *Images) Layer(ctx context.Context, base, name string) (string, error) {
	unlock, err := lockFile(filepath.Join(im.Dir, "lock"), "the image cache "+im.Dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	pkgs := layerPackages[name]
	dir := filepath.Join(im.Dir, Suite+"-"+name)
	baseStamp, err := os.ReadFile(base + ".stamp")
	if err != nil {
		return "", fmt.Errorf("base image %s has no stamp: %w", base, err)
	}
	// A rebuilt base invalidates the layer: its stamp includes the base's.
	stamp := fmt.Sprintf("%s%s\n", baseStamp, strings.Join(pkgs, ","))
	if cached(dir, stamp) {
		return dir, nil
	}
	im.Log.Info("building an image layer (once; cached after)", "layer", name, "packages", pkgs)
	tmp := dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	// The host's network and resolver: this runs before the lab network exists.
	nspawn := []string{"systemd-nspawn", "--quiet", "--register=no", "--keep-unit",
		"--directory=" + base, "--overlay=" + base + ":" + tmp + ":/", "--resolv-conf=bind-host",
		"--setenv=DEBIAN_FRONTEND=noninteractive", "--"}
	steps := [][]string{
		{"apt-get", "update", "-q"},
		append([]string{"apt-get", "install", "-q", "-y", "--no-install-recommends"}, pkgs...),
		{"apt-get", "clean"},
	}
	for _, s := range steps {
		if _, err := run(ctx, append(append([]string{}, nspawn...), s...)...); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("build layer %s: %w", name, err)
		}
	}
	if err := os.RemoveAll(filepath.Join(tmp, "var/lib/apt/lists")); err != nil {
		return "", err
	}
	if err := replaceDir(tmp, dir, stamp); err != nil {
		return "", err
	}
	return dir, nil
}

func cached(dir, stamp string) bool {
	b, err := os.ReadFile(dir + ".stamp")
	return err == nil && string(b) == stamp
}

// replaceDir moves a finished build into place, then writes its stamp, so a
// half-built image is never taken for a cached one.
func replaceDir(tmp, dir, stamp string) error {
	os.Remove(dir + ".stamp")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return os.WriteFile(dir+".stamp", []byte(stamp), 0o644)
}

// customiseBase makes the image node-neutral: the host's mirror, no shared
// host keys or machine id, key-only root SSH.
func customiseBase(root string, m *Mirror) error {
	files := map[string]string{
		"etc/apt/sources.list":                   m.SourcesList(),
		"etc/ssh/sshd_config.d/counter-lab.conf": sshdDropIn,
		"etc/machine-id":                         "",
		"etc/hostname":                           "localhost\n",
		"etc/default/locale":                     "LANG=C.UTF-8\n",
	}
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	keys, err := filepath.Glob(filepath.Join(root, "etc/ssh/ssh_host_*"))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := os.Remove(k); err != nil {
			return err
		}
	}
	for _, p := range []string{"var/cache/apt/archives", "var/lib/apt/lists"} {
		entries, _ := os.ReadDir(filepath.Join(root, p))
		for _, e := range entries {
			if !e.IsDir() {
				os.Remove(filepath.Join(root, p, e.Name()))
			}
		}
	}
	return nil
}

// lockFile takes an exclusive flock or fails at once naming what is busy.
// `lab down` deletes its lock file while holding it, so a lock taken on a
// file that is no longer at path is worthless: then it tries again.
func lockFile(path, what string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	for range 5 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("%s is in use by another counterctl lab run (lock %s); wait for it to finish", what, path)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		held, herr := f.Stat()
		now, nerr := os.Stat(path)
		if herr == nil && nerr == nil && os.SameFile(held, now) {
			return func() { f.Close() }, nil
		}
		f.Close() // removed (or replaced) by its holder before we locked it
	}
	return nil, fmt.Errorf("lock %s: the file kept being replaced; is another counterctl lab running?", path)
}

// BuildAll builds (or reuses) the base image and every layer, and returns their
// directories by name ("base", "knot"): `counterctl lab image`, so tests and CI
// that boot containers from the image find it on a fresh machine.
func (im *Images) BuildAll(ctx context.Context) (map[string]string, error) {
	base, err := im.Base(ctx)
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{"base": base}
	for name := range layerPackages {
		if dirs[name], err = im.Layer(ctx, base, name); err != nil {
			return nil, err
		}
	}
	return dirs, nil
}
