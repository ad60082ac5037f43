//go:build !node

package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skeema/knownhosts"

	"counter/daemon"
	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/health"
	"counter/provisioning/nagios"
	"counter/provisioning/pki"
	"counter/provisioning/probe"
	"counter/provisioning/raid"
	"counter/provisioning/redisconf"
	"counter/provisioning/sshx/sshxtest"
)

// healthNode is one single-node cluster on this machine: a real SSH server
// (commands run with sh -c here), a real redis-server with the counterd ACL
// user of a provisioned node, a real counterd on it, and node files
// (meminfo, certificate, RAID state) in a temporary directory.
type healthNode struct {
	dir, inventory string
	where          probe.Options
	httpPort       int
	counterd       daemon.Config
	stopCounterd   func()
}

func newHealthNode(t *testing.T) *healthNode {
	t.Helper()
	h := &healthNode{dir: t.TempDir()}
	key, pub := sshxtest.WriteKey(t, h.dir, "")
	srv := sshxtest.NewServer(t, pub)
	known := filepath.Join(h.dir, "known_hosts")
	testutil.WriteFile(t, known, []byte(knownhosts.Line([]string{srv.Addr}, srv.HostKeys[0].PublicKey())+"\n"), 0o600)

	const password = "health-test-password-0123456789"
	acl := []string{"--user", "default", "reset", "--user", "counterd", "reset", "on", ">" + password, "~counter:*", "&counter:*", "-@all"}
	for _, c := range redisconf.CounterdCommands() {
		acl = append(acl, "+"+c)
	}
	redisSrv := redistest.Start(t, redistest.WithUnixSocket(), redistest.WithUser("counterd", password), redistest.WithArgs(acl...))
	sock := redisSrv.Socket()

	h.httpPort = testutil.FreePort(t)
	h.counterd = daemon.DefaultConfig()
	h.counterd.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(h.httpPort))
	h.counterd.Redis = "redis://counterd@" + redisSrv.Addr() + "/0"
	h.counterd.RedisPassword = password
	h.startCounterd(t)
	t.Cleanup(func() { h.stopCounterd() })

	ca, _, err := pki.LoadOrCreateCA(filepath.Join(h.dir, "pki"), "counter", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := ca.Issue("redis master", []string{"127.0.0.1"}, time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(h.dir, "redis.crt"), []byte(string(cert)), 0o600)
	testutil.WriteFile(t, filepath.Join(h.dir, "redis.pass"), []byte(password+"\n"), 0o600)
	testutil.WriteFile(t, filepath.Join(h.dir, "meminfo"), []byte("MemTotal:        8052736 kB\n"), 0o600)
	h.where = probe.Options{
		RedisSocket: sock, RedisPasswordFile: filepath.Join(h.dir, "redis.pass"),
		MemInfo: filepath.Join(h.dir, "meminfo"), DiskPaths: []string{"/", h.dir},
		CertPaths: []string{filepath.Join(h.dir, "redis.crt")}, RAIDState: filepath.Join(h.dir, "raid.json"),
		Sentinel: startHealthSentinel(t, h.dir, ca),
	}
	h.setRAID(t, "md-healthy", time.Now())

	_, port, _ := net.SplitHostPort(srv.Addr)
	h.inventory = filepath.Join(h.dir, "inventory.yaml")
	testutil.WriteFile(t, h.inventory, []byte(fmt.Sprintf(`cluster: counter
dns: {zone: counter.test., server: 127.0.0.1:53, tsig: {name: k., algorithm: hmac-sha256, secret_file: tsig.key}}
ssh: {user: root, port: %s, key_file: %s, known_hosts: %s}
admin_networks: [127.0.0.0/8]
secrets:
  redis_counterd_password: {file: redis.pass}
  redis_replication_password: {file: repl.pass}
  redis_sentinel_password: {file: sentinel.pass}
  sentinel_peer_password: {file: sentinel-peer.pass}
  sentinel_counterctl_password: {file: sentinel-counterctl.pass}
raid: optional
nodes:
  - {name: master, address: 127.0.0.1, continent: eu, role: master}
`, port, key, known)), 0o600)
	return h
}

// startCounterd runs counterd in-process on h.httpPort until stopCounterd.
func (h *healthNode) startCounterd(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run, err := daemon.Start(ctx, h.counterd, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatalf("start counterd: %v", err)
	}
	h.stopCounterd = func() { cancel(); run.Wait() }
	testutil.Eventually(t, 10*time.Second, "counterd /readyz 200", func() bool {
		resp, err := http.Get("http://" + h.counterd.Listen + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// setRAID installs one of the raid package's recorded reports as the
// node's state file, as if counter-raid-check.timer had written it at.
func (h *healthNode) setRAID(t *testing.T, fixture string, at time.Time) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "provisioning", "raid", "testdata", "check", fixture+".golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r raid.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	r.CheckedAt = at
	if b, err = json.Marshal(r); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, h.where.RAIDState, []byte(string(b)), 0o600)
}

func (h *healthNode) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := NewRootCmd(&stdout, &stderr)
	// The same command tree, with the health command reading this node's layout.
	for _, c := range root.Commands() {
		if c.Name() == "health" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newHealthCmdAt(h.where))
	root.SetArgs(append([]string{"health", "-i", h.inventory, "--http-port", strconv.Itoa(h.httpPort)}, args...))
	err := root.ExecuteContext(t.Context())
	code := 0
	if ee, ok := err.(*ExitError); ok {
		code = ee.Code
		if ee.Err != nil {
			stderr.WriteString(ee.Err.Error())
		}
	} else if err != nil {
		t.Fatalf("health: %v", err)
	}
	return code, stdout.String(), stderr.String()
}

// TestHealthOverSSH proves the command end to end over SSH and HTTP:
// exit codes, the summary line, the failing check named with its node.
func TestHealthOverSSH(t *testing.T) {
	h := newHealthNode(t)
	tests := []struct {
		name     string
		setup    func(t *testing.T)
		args     []string
		wantCode int
		wantOut  []string
	}{
		{name: "all ok", wantCode: 0, wantOut: []string{"COUNTER OK - 1/1 nodes ready, master=master"}},
		{name: "counterd stopped", setup: func(t *testing.T) {
			h.stopCounterd()
			t.Cleanup(func() { h.startCounterd(t) })
		}, wantCode: 2,
			wantOut: []string{"COUNTER CRITICAL - 0/1 nodes ready", "CRITICAL master: counterd /readyz: no answer: ",
				"connection refused", "CRITICAL master: value: /getvalue: "}},
		{name: "degraded array", setup: func(t *testing.T) { h.setRAID(t, "md-degraded", time.Now()) }, wantCode: 2,
			wantOut: []string{"CRITICAL master: raid: md0 (raid10) degraded [4/3]; md0 failed disks: sde"}},
		{name: "degraded array, raid warn-only", setup: func(t *testing.T) { h.setRAID(t, "md-degraded", time.Now()) },
			args: []string{"--warn-only", "raid"}, wantCode: 1,
			wantOut: []string{"COUNTER WARNING", "(CRITICAL, capped by --warn-only)"}},
		{name: "stale state file", setup: func(t *testing.T) { h.setRAID(t, "md-healthy", time.Now().Add(-time.Hour)) }, wantCode: 3,
			wantOut: []string{"UNKNOWN master: raid: state file is 1h0m0s old"}},
		{name: "no state file", setup: func(t *testing.T) { os.Remove(h.where.RAIDState) }, wantCode: 3,
			wantOut: []string{"has counter-raid-check.timer run?"}},
		{name: "bad flag is UNKNOWN", args: []string{"--warn-only", "raids"}, wantCode: 3},
		{name: "unknown node is UNKNOWN", args: []string{"--node", "mars"}, wantCode: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.setRAID(t, "md-healthy", time.Now())
			if tt.setup != nil {
				tt.setup(t)
			}
			code, out, errOut := h.run(t, tt.args...)
			t.Logf("exit %d\n%s%s", code, out, errOut)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		h.setRAID(t, "md-healthy", time.Now())
		code, out, errOut := h.run(t, "--output", "json")
		var rep health.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("--output json: %v\n%s\n%s", err, out, errOut)
		}
		states := map[string]nagios.State{}
		for _, r := range rep.Results {
			states[r.Check] = r.State
		}
		want := map[string]nagios.State{"ssh": nagios.OK, "readyz": nagios.OK, "value": nagios.OK, "redis-role": nagios.OK,
			"memory": nagios.OK, "disk": nagios.OK, "tls-cert": nagios.OK, "clock": nagios.OK, "raid": nagios.OK,
			"sentinel": nagios.OK, "dns": nagios.Skipped}
		for c, st := range want {
			if states[c] != st {
				t.Errorf("check %s = %s, want %s (exit %d)\n%s", c, states[c], st, code, out)
			}
		}
	})
}
