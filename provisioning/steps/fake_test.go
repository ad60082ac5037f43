package steps

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"counter/provisioning/firewall"
	"counter/provisioning/host"
	"counter/provisioning/raid"
	"counter/provisioning/secondary"
	"counter/provisioning/sshd"
	"counter/provisioning/sshx"
)

// fakeHost is a Debian node in memory: files with mode and owner, packages,
// systemd units, and the few commands the steps run. Its dry view shares
// the state and changes none of it.
type fakeHost struct {
	name string
	dry  bool
	st   *fakeState
}

type fakeFile struct {
	content []byte
	dir     bool
	mode    string // as stat -c %a:%U:%G prints it
}

type fakeState struct {
	mu       sync.Mutex
	osName   string // ID VERSION_ID, e.g. "debian 12"
	arch     string
	files    map[string]fakeFile
	packages map[string]bool
	counter  string // installed counter version
	units    map[string]*[2]bool
	fwLoaded bool
	link     string // master_link_status a replica reports
	role     string // role Redis reports
	// masterHost is the master_host a replica reports; empty: the
	// inventory's master (198.51.100.10 in testInventory).
	masterHost string
	restarts   []string
	execs      []string
	queries    int              // commands run on the "node", batches count once
	fail       map[string]error // by argv[0] or exec "what" prefix
}

var _ host.Host = (*fakeHost)(nil)

func newFake(name, role string) *fakeHost {
	return &fakeHost{name: name, st: &fakeState{
		osName: "debian 12", arch: "amd64", link: "up", role: role,
		files:    map[string]fakeFile{},
		packages: map[string]bool{"openssh-server": true},
		units:    map[string]*[2]bool{"ssh.service": {true, true}},
		fail:     map[string]error{},
	}}
}

func (h *fakeHost) Name() string   { return h.name }
func (h *fakeHost) DryRun() bool   { return h.dry }
func (h *fakeHost) Dry() host.Host { c := *h; c.dry = true; return &c }

func exitErr(h string, argv []string, code int) error {
	return &sshx.ExitError{Host: h, Argv: argv, Code: code}
}

func (h *fakeHost) Query(ctx context.Context, argv ...string) ([]byte, error) {
	h.st.mu.Lock()
	h.st.queries++
	h.st.mu.Unlock()
	if len(argv) > 3 && argv[0] == "bash" && argv[2] == batchScript {
		return h.batch(ctx, argv[4:])
	}
	return h.query(argv)
}

// batch answers like batchScript does, without counting each command.
func (h *fakeHost) batch(_ context.Context, args []string) ([]byte, error) {
	var out strings.Builder
	for len(args) > 0 {
		n, _ := strconv.Atoi(args[0])
		cmd := args[1 : 1+n]
		args = args[1+n:]
		b, err := h.query(cmd)
		code := 0
		var xe *sshx.ExitError
		if errors.As(err, &xe) {
			code = xe.Code
		} else if err != nil {
			code = 1
		}
		fmt.Fprintf(&out, "%d %s\n", code, b64(b))
	}
	return []byte(out.String()), nil
}

func (h *fakeHost) query(argv []string) ([]byte, error) {
	st := h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.fail[argv[0]]; err != nil {
		return nil, err
	}
	switch {
	case slices.Equal(argv, []string{"cat", "/etc/os-release"}):
		id, ver, _ := strings.Cut(st.osName, " ")
		return fmt.Appendf(nil, "PRETTY_NAME=\"%s\"\nID=%s\nVERSION_ID=\"%s\"\n", st.osName, id, ver), nil
	case slices.Equal(argv, []string{"dpkg", "--print-architecture"}):
		return []byte(st.arch + "\n"), nil
	case len(argv) == 5 && argv[2] == readScript:
		f, ok := st.files[argv[4]]
		if !ok {
			return nil, exitErr(h.name, argv, 3)
		}
		return f.content, nil
	case len(argv) == 5 && argv[0] == "sh" && strings.HasPrefix(argv[2], "stat -c"):
		if f, ok := st.files[argv[4]]; ok {
			return []byte(f.mode + "\n"), nil
		}
		return nil, nil
	case len(argv) == 5 && strings.HasPrefix(argv[2], "systemctl is-enabled"):
		u := st.units[argv[4]]
		if u == nil {
			return []byte("disabled\ninactive\n"), nil
		}
		return fmt.Appendf(nil, "%s\n%s\n", map[bool]string{true: "enabled", false: "disabled"}[u[0]],
			map[bool]string{true: "active", false: "inactive"}[u[1]]), nil
	case argv[0] == "dpkg-query" && argv[len(argv)-1] == "counter":
		if st.counter == "" {
			return nil, exitErr(h.name, argv, 1)
		}
		return []byte("installed " + st.counter), nil
	case argv[0] == "dpkg-query":
		var b strings.Builder
		for _, p := range argv[5:] {
			if st.packages[p] {
				fmt.Fprintf(&b, "%s installed\n", p)
			}
		}
		return []byte(b.String()), nil
	case slices.Equal(argv, firewall.StatusArgv()):
		if !st.fwLoaded {
			return nil, exitErr(h.name, argv, 1)
		}
		return []byte(`{"nftables": []}`), nil
	case slices.Equal(argv, sshd.ValidateArgv()), argv[0] == "runuser", argv[0] == "bird" && argv[1] == "-p",
		argv[0] == "knotc" && argv[len(argv)-1] == "conf-check":
		return nil, nil
	case argv[0] == "knotc" && argv[1] == "zone-read":
		// A running Knot with its configuration has transferred the zone.
		if _, conf := st.files[secondary.ConfPath]; !conf || st.units[secondary.Unit] == nil || !st.units[secondary.Unit][1] {
			return nil, exitErr(h.name, argv, 1)
		}
		return []byte("[" + argv[2] + "] " + argv[2] + " 60 SOA ns." + argv[2] + " h." + argv[2] + " 1 3600 600 86400 60\n"), nil
	case slices.Equal(argv, sshd.EffectiveArgv()):
		var b strings.Builder
		b.WriteString("port 22\nusepam yes\naddressfamily any\n")
		for line := range strings.SplitSeq(string(st.files[sshd.DropInPath].content), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				b.WriteString(strings.ToLower(line) + "\n")
			}
		}
		b.WriteString("passwordauthentication yes\n")
		return []byte(b.String()), nil
	case len(argv) > 6 && argv[2] == redisCLIScript:
		_, root := st.files[argv[4]]
		if _, counterd := st.files[argv[5]]; !root && !counterd { // the script's cat of a password
			return nil, exitErr(h.name, argv, 2)
		}
		if st.units[redisUnit] == nil || !st.units[redisUnit][1] {
			return nil, exitErr(h.name, argv, 1)
		}
		if st.role == "master" {
			return []byte("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"), nil
		}
		mh := cmp.Or(st.masterHost, "198.51.100.10")
		return fmt.Appendf(nil, "# Replication\r\nrole:slave\r\nmaster_host:%s\r\nmaster_port:6380\r\nmaster_link_status:%s\r\n", mh, st.link), nil
	}
	return nil, fmt.Errorf("fake host: unexpected query %q", argv)
}

func (h *fakeHost) Exec(_ context.Context, what string, argv ...string) (*host.Change, error) {
	c := &host.Change{What: what}
	if h.dry {
		c.What += ": would run " + strings.Join(argv, " ")
		return c, nil
	}
	st := h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	st.execs = append(st.execs, what)
	for prefix, err := range st.fail {
		if strings.HasPrefix(what, prefix) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	unit := func() *[2]bool {
		name := argv[len(argv)-1]
		if st.units[name] == nil {
			st.units[name] = &[2]bool{}
		}
		return st.units[name]
	}
	switch {
	case argv[0] == "install" && argv[1] == "-d":
		st.files[argv[len(argv)-1]] = fakeFile{dir: true, mode: fmt.Sprintf("%s:%s:%s", strings.TrimLeft(argv[3], "0"), argv[5], argv[7])}
	case argv[0] == "install" && argv[1] == "-D":
		st.files[argv[len(argv)-1]] = fakeFile{content: st.files[argv[len(argv)-2]].content, mode: "644:root:root"}
	case argv[0] == "chown" || argv[0] == "chmod":
		f := st.files[argv[3]]
		m := strings.SplitN(f.mode, ":", 3)
		if argv[0] == "chmod" {
			m[0] = argv[2]
		} else {
			m[1], m[2], _ = strings.Cut(argv[2], ":")
		}
		f.mode = strings.Join(m, ":")
		st.files[argv[3]] = f
	case argv[0] == "rm":
		for _, p := range argv[2:] {
			delete(st.files, p)
		}
	case argv[0] == "env" && slices.Contains(argv, "apt-get"):
		st.counter = strings.TrimSuffix(strings.TrimPrefix(argv[len(argv)-1], uploadDir+"/counter_"), "_amd64.deb")
		st.units[counterdUnit] = &[2]bool{true, false}
		st.units["counter-raid-check.timer"] = &[2]bool{true, true}
	case len(argv) > 1 && argv[0] == "systemctl" && argv[1] == "enable":
		unit()[0] = true
	case len(argv) > 3 && argv[0] == "systemctl" && argv[1] == "start" && argv[3] == raid.ServiceUnitName:
		// A oneshot: it runs, writes its report and is done.
		st.files[raid.DefaultStatePath] = fakeFile{content: []byte(`{"severity":"OK"}`), mode: "644:root:root"}
	case len(argv) > 1 && argv[0] == "systemctl" && argv[1] == "start":
		unit()[1] = true
	case len(argv) > 1 && argv[0] == "systemctl" && argv[1] == "stop":
		unit()[1] = false
		st.restarts = append(st.restarts, "stop "+argv[len(argv)-1])
	case len(argv) > 1 && argv[0] == "systemctl" && argv[1] == "disable":
		*unit() = [2]bool{}
	case len(argv) > 2 && argv[0] == "systemctl" && argv[1] == "restart":
		st.restarts = append(st.restarts, argv[3])
	case argv[0] == "/usr/sbin/nft" && argv[1] == "-f":
		st.fwLoaded = true
	}
	return c, nil
}

func (h *fakeHost) EnsurePackages(_ context.Context, names ...string) (*host.Change, error) {
	st := h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	var missing []string
	for _, n := range names {
		if !st.packages[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	if !h.dry {
		for _, n := range missing {
			st.packages[n] = true
		}
		st.units[redisUnit] = &[2]bool{true, true}
		if slices.Contains(missing, "redis-sentinel") {
			st.units[sentinelUnit] = &[2]bool{true, true} // Debian starts it with its own file
			st.files["/etc/redis/sentinel.conf"] = fakeFile{content: []byte("sentinel monitor mymaster 127.0.0.1 6379 2\n"), mode: "640:redis:redis"}
		}
	}
	return &host.Change{What: "install " + strings.Join(missing, " ")}, nil
}

func (h *fakeHost) EnsureFile(_ context.Context, f host.File) (*host.Change, error) {
	st := h.st
	st.mu.Lock()
	defer st.mu.Unlock()
	owner, group := f.Owner, f.Group
	if owner == "" {
		owner = "root"
	}
	if group == "" {
		group = "root"
	}
	mode := fmt.Sprintf("%o:%s:%s", f.Mode.Perm(), owner, group)
	old, exists := st.files[f.Path]
	if exists && string(old.content) == string(f.Content) && old.mode == mode {
		return nil, nil
	}
	c := &host.Change{What: "update " + f.Path}
	if !exists {
		c.What = "create " + f.Path
	}
	if !f.Secret {
		c.Diff = lineDiff(f.Path, old.content, f.Content)
	}
	if !h.dry {
		st.files[f.Path] = fakeFile{content: f.Content, mode: mode}
	}
	return c, nil
}

func (h *fakeHost) RestartIfChanged(ctx context.Context, unit string, changes ...*host.Change) (*host.Change, error) {
	for _, c := range changes {
		if c != nil {
			return h.Exec(ctx, "restart "+unit, "systemctl", "restart", "--", unit)
		}
	}
	return nil, nil
}
