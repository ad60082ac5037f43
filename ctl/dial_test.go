//go:build !node

package ctl

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skeema/knownhosts"

	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/sshx/sshxtest"
)

// sshLab is an inventory whose nodes are in-process SSH servers on
// loopback addresses, each with its host key in known_hosts; opts go to
// every server (e.g. a fake systemctl first on the PATH).
func sshLab(t *testing.T, roles map[string]string, opts ...sshxtest.Option) (*inventory.Inventory, map[string]*sshxtest.Server) {
	t.Helper()
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	servers := map[string]*sshxtest.Server{}
	var known, nodes strings.Builder
	i := 1
	for _, name := range []string{"master", "mirror", "na", "sa"} {
		role, ok := roles[name]
		if !ok {
			continue
		}
		addr := fmt.Sprintf("127.0.0.%d", i)
		i++
		s := sshxtest.NewServer(t, pub, append([]sshxtest.Option{sshxtest.WithListen(addr + ":0")}, opts...)...)
		servers[name] = s
		known.WriteString(knownhosts.Line([]string{s.Addr}, s.HostKeys[0].PublicKey()) + "\n")
		_, port, _ := strings.Cut(s.Addr, ":")
		continent := map[string]string{"master": "eu", "mirror": "eu"}[name]
		if continent == "" {
			continent = name
		}
		fmt.Fprintf(&nodes, "  - {name: %s, address: %s, continent: %s, role: %s, ssh: {port: %s}}\n", name, addr, continent, role, port)
	}
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(known.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTR_DIAL_A", "counterd-password-0123456789")
	t.Setenv("CTR_DIAL_B", "replication-password-0123456789")
	inv := fmt.Sprintf(`cluster: test
dns: {zone: test.example., server: 127.0.0.1, tsig: {name: k., algorithm: hmac-sha256, secret_env: CTR_DIAL_T}}
ssh: {key_file: %s, known_hosts: known_hosts, connect_timeout: 5s}
admin_networks: [127.0.0.0/8]
secrets:
  redis_counterd_password: {env: CTR_DIAL_A}
  redis_replication_password: {env: CTR_DIAL_B}
  redis_sentinel_password: {env: CTR_DIAL_B_S1}
  sentinel_peer_password: {env: CTR_DIAL_B_S2}
  sentinel_counterctl_password: {env: CTR_DIAL_B_S3}
nodes:
%s`, filepath.Base(key), nodes.String())
	path := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(path, []byte(inv), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return loaded, servers
}

func TestDialNodesReachesReplicasThroughTheMaster(t *testing.T) {
	inv, servers := sshLab(t, map[string]string{"master": "master", "mirror": "mirror", "na": "replica", "sa": "replica"})
	conn := host.NewConnector(inv, host.ConnectOptions{})
	defer conn.Close()
	nodes := inv.Ordered()
	clients, errs := dialNodes(context.Background(), conn, nodes, 2)
	for i, n := range nodes {
		if errs[i] != nil {
			t.Fatalf("%s: %v", n.Name, errs[i])
		}
		out, err := host.NewRemote(n.Name, clients[i]).Query(context.Background(), "printf", "%s", n.Name)
		if err != nil || string(out) != n.Name {
			t.Errorf("%s: Query = %q, %v", n.Name, out, err)
		}
		if n.Role == inventory.RoleReplica {
			defer clients[i].Close()
		}
	}
	if got := servers["master"].Forwards(); got != 2 {
		t.Errorf("master forwarded %d connections, want 2 (na, sa)", got)
	}
	if got := servers["mirror"].Forwards(); got != 0 {
		t.Errorf("mirror forwarded %d connections, want 0", got)
	}
}

func TestDialNodesWithoutMaster(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master", "na": "replica"})
	conn := host.NewConnector(inv, host.ConnectOptions{})
	defer conn.Close()
	na, _ := inv.Node("na")
	// A master whose host key is unknown cannot carry the replica.
	if err := os.WriteFile(inv.Master().SSH.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs := dialNodes(context.Background(), conn, []inventory.Node{na}, 2)
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "na: reach it through a jump host") {
		t.Errorf("err = %v, want it to say na is reached through the master", errs[0])
	}
}

func TestStreamWriter(t *testing.T) {
	inv, _ := sshLab(t, map[string]string{"master": "master"})
	conn := host.NewConnector(inv, host.ConnectOptions{})
	defer conn.Close()
	c, err := conn.Client(context.Background(), inv.Master())
	if err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	grp, err := user.LookupGroupId(me.Gid)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "it's a file")
	for _, content := range []string{"first\n", strings.Repeat("x", 1<<20)} {
		if err := (streamWriter{c}).WriteFile(context.Background(), path, []byte(content), 0o640, me.Username, grp.Name); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %d bytes, %v; want %d", len(got), err, len(content))
		}
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v, want 0640", fi.Mode().Perm())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.ctr-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	err = (streamWriter{c}).WriteFile(context.Background(), filepath.Join(dir, "missing", "f"), []byte("x"), 0o600, me.Username, grp.Name)
	if err == nil || !strings.Contains(err.Error(), "write "+filepath.Join(dir, "missing", "f")) {
		t.Errorf("write into a missing directory: %v; want an error naming the file", err)
	}
}
