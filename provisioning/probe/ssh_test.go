package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skeema/knownhosts"

	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/pki"
	"counter/provisioning/raid"
	"counter/provisioning/sshx"
	"counter/provisioning/sshx/sshxtest"
)

const testPassword = "probe-test-password-0123456789"

// startRedis runs a real redis-server with a Unix socket, the default user
// off and a counterd user allowed INFO, like a provisioned node; it returns
// the socket.
func startRedis(t *testing.T) string {
	t.Helper()
	srv := redistest.Start(t, redistest.WithUnixSocket(), redistest.WithUser("counterd", testPassword),
		redistest.WithArgs("--user", "default", "reset", "--user", "counterd", "reset", "on", ">"+testPassword, "~counter:*", "+info", "+ping"))
	return srv.Socket()
}

// fakeCounterd answers like counterd on addr; the HTTP parsing is what is
// under test here, real counterd is the lab's.
func fakeCounterd(t *testing.T, addr string, value int, ready bool) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("SKIPPED: cannot listen on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "value is 12s old, more than --max-staleness 2s")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /getvalue", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "%d\n", value) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><main>\n<div id=\"counter\">%d</div>\n</main>", value)
	})
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
}

// TestProbeOverSSH gathers every fact through real SSH sessions (the
// in-process server runs the commands with sh -c on this machine), the
// replica through the master, from a real redis-server and files laid out
// like a node's.
func TestProbeOverSSH(t *testing.T) {
	sock := startRedis(t)
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	master := sshxtest.NewServer(t, pub)
	replica := sshxtest.NewServer(t, pub, sshxtest.WithListen("127.0.0.2:0"))
	var known []byte
	for _, s := range []*sshxtest.Server{master, replica} {
		known = append(known, knownhosts.Line([]string{s.Addr}, s.HostKeys[0].PublicKey())+"\n"...)
	}
	knownPath := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownPath, known, 0o600); err != nil {
		t.Fatal(err)
	}

	// counterd on both "nodes", one port: the prober uses one port for all.
	port := testutil.FreePort(t)
	fakeCounterd(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 42, true)
	fakeCounterd(t, net.JoinHostPort("127.0.0.2", strconv.Itoa(port)), 41, false)

	pwPath := filepath.Join(dir, "redis.pass")
	testutil.WriteFile(t, pwPath, []byte(testPassword+"\n"), 0o644)
	meminfo := filepath.Join(dir, "meminfo")
	testutil.WriteFile(t, meminfo, []byte("MemTotal:        2017264 kB\nMemFree:          112233 kB\n"), 0o644)
	now := time.Now()
	ca, _, err := pki.LoadOrCreateCA(filepath.Join(dir, "pki"), "counter", now)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, _, err := ca.Issue("redis master", []string{"127.0.0.1"}, time.Now(), 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(dir, "redis.crt")
	testutil.WriteFile(t, certPath, []byte(string(certPEM)), 0o644)
	state, err := json.Marshal(raid.Report{Severity: nagios.Critical, Summary: "md0 raid10 degraded", CheckedAt: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	raidPath := filepath.Join(dir, "raid.json")
	testutil.WriteFile(t, raidPath, []byte(string(state)), 0o644)

	inv := &inventory.Inventory{Nodes: []inventory.Node{
		sshxtest.Node(t, "master", inventory.RoleMaster, master.Addr, key, knownPath, 5*time.Second),
		sshxtest.Node(t, "na", inventory.RoleReplica, replica.Addr, key, knownPath, 5*time.Second),
	}}
	conn := host.NewConnector(inv, host.ConnectOptions{ConnectTimeout: 5 * time.Second})
	t.Cleanup(func() { conn.Close() })
	p := New(conn, Options{
		HTTPPort: port, RedisSocket: sock, RedisPasswordFile: pwPath,
		MemInfo: meminfo, DiskPaths: []string{"/", dir}, CertPaths: []string{certPath, filepath.Join(dir, "absent.crt")},
		RAIDState: raidPath, Package: "ctr-no-such-package",
	}, time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	f := p.Probe(ctx, inv.Nodes[1])
	if replica.Forwards() != 0 || master.Forwards() != 1 {
		t.Errorf("forwards: master %d, replica %d; want the replica reached through the master", master.Forwards(), replica.Forwards())
	}
	if f.SSH.Err != nil {
		t.Fatalf("SSH: %v", f.SSH.Err)
	}
	if f.Clock.Err != nil || f.Clock.V.Offset.Abs() > f.Clock.V.RTT+50*time.Millisecond {
		t.Errorf("Clock = %+v, %v; want this machine's clock within the round trip", f.Clock.V, f.Clock.Err)
	}
	if f.Redis.Err != nil || f.Redis.V.Role != "master" || !strings.HasPrefix(f.Redis.V.Version, "7.") || f.Redis.V.UsedMemory == 0 {
		t.Errorf("Redis = %+v, %v; want INFO of the real redis-server", f.Redis.V, f.Redis.Err)
	}
	if f.Memory.Err != nil || f.Memory.V != 2017264*1024 {
		t.Errorf("Memory = %d, %v; want 2017264 kB", f.Memory.V, f.Memory.Err)
	}
	if f.Disks.Err != nil || len(f.Disks.V) != 2 || f.Disks.V[1].Path != dir || f.Disks.V[0].Size == 0 || f.Disks.V[0].Avail > f.Disks.V[0].Size {
		t.Errorf("Disks = %+v, %v", f.Disks.V, f.Disks.Err)
	}
	if len(f.Certs.V) != 1 || f.Certs.V[0].NotAfter.Sub(now) < 89*24*time.Hour || f.Certs.Err == nil ||
		!strings.Contains(f.Certs.Err.Error(), "absent.crt: missing") {
		t.Errorf("Certs = %+v, %v; want one 90-day certificate and absent.crt missing", f.Certs.V, f.Certs.Err)
	}
	if f.RAID.Err != nil || f.RAID.V.Report == nil || f.RAID.V.Report.Severity != nagios.Critical {
		t.Errorf("RAID = %+v, %v; want the state file's CRITICAL", f.RAID.V, f.RAID.Err)
	}
	if f.Version.Err != nil || f.Version.V != "" {
		t.Errorf("Version = %q, %v; want not installed", f.Version.V, f.Version.Err)
	}
	if f.Ready.Err != nil || f.Ready.V.Code != 503 || !strings.Contains(f.Ready.V.Body, "12s old") {
		t.Errorf("Ready = %+v, %v; want the replica's 503", f.Ready.V, f.Ready.Err)
	}
	if f.Value.V != 41 || f.Page.V != 41 || f.Value.Err != nil || f.Page.Err != nil {
		t.Errorf("Value, Page = %+v, %+v; want 41 from the replica", f.Value, f.Page)
	}

	t.Run("wrong redis password", func(t *testing.T) {
		wrong := filepath.Join(dir, "wrong.pass")
		testutil.WriteFile(t, wrong, []byte("wrong\n"), 0o644)
		bad := New(conn, Options{HTTPPort: port, RedisSocket: sock, RedisPasswordFile: wrong}, time.Now)
		r := bad.redis(ctx, mustClient(t, conn, inv.Nodes[0]))
		if r.Err == nil || !strings.Contains(r.Err.Error(), "WRONGPASS") {
			t.Errorf("redis with a wrong password: %v; want the WRONGPASS reason", r.Err)
		}
	})
	t.Run("master down", func(t *testing.T) {
		inv := &inventory.Inventory{Nodes: []inventory.Node{
			sshxtest.Node(t, "master", inventory.RoleMaster, "127.0.0.3:1", key, knownPath, 5*time.Second),
			sshxtest.Node(t, "na", inventory.RoleReplica, replica.Addr, key, knownPath, 5*time.Second),
		}}
		conn := host.NewConnector(inv, host.ConnectOptions{ConnectTimeout: 2 * time.Second})
		defer conn.Close()
		f := New(conn, Options{HTTPPort: port}, time.Now).Probe(ctx, inv.Nodes[1])
		if f.SSH.Err == nil || !strings.Contains(f.SSH.Err.Error(), "through a jump host") || !errors.Is(f.Redis.Err, ErrNoSSH) {
			t.Errorf("SSH = %v, Redis = %v; want SSH failing through the jump hosts and the rest not checked", f.SSH.Err, f.Redis.Err)
		}
	})
}

func mustClient(t *testing.T, d Dialer, n inventory.Node) *sshx.Client {
	t.Helper()
	cl, err := d.Client(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
