package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skeema/knownhosts"

	"counter/provisioning/inventory"
	"counter/provisioning/sshx/sshxtest"
)

// TestConnectorFromInventory loads a real inventory file whose nodes are
// in-process SSH servers on loopback addresses, and checks that replicas
// are reached through the master and the others directly.
func TestConnectorFromInventory(t *testing.T) {
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	servers := map[string]*sshxtest.Server{
		"master": sshxtest.NewServer(t, pub, sshxtest.WithListen("127.0.0.1:0")),
		"mirror": sshxtest.NewServer(t, pub, sshxtest.WithListen("127.0.0.2:0")),
		"na":     sshxtest.NewServer(t, pub, sshxtest.WithListen("127.0.0.3:0")),
	}
	var known []byte
	for _, s := range servers {
		known = append(known, knownhosts.Line([]string{s.Addr}, s.HostKeys[0].PublicKey())+"\n"...)
	}
	if err := os.WriteFile(filepath.Join(dir, "known_hosts"), known, 0o600); err != nil {
		t.Fatal(err)
	}
	port := func(name string) string { return servers[name].Addr[len("127.0.0.x:"):] }
	yaml := fmt.Sprintf(`cluster: test
dns:
  zone: test.example.
  server: 127.0.0.1
  tsig: {name: k., algorithm: hmac-sha256, secret_env: CTR_TEST_TSIG}
ssh:
  key_file: %s
  known_hosts: known_hosts
  connect_timeout: 5s
admin_networks: [127.0.0.0/8]
secrets:
  redis_counterd_password: {env: CTR_TEST_A}
  redis_replication_password: {env: CTR_TEST_B}
  redis_sentinel_password: {env: CTR_TEST_B_S1}
  sentinel_peer_password: {env: CTR_TEST_B_S2}
  sentinel_counterctl_password: {env: CTR_TEST_B_S3}
nodes:
  - {name: master, address: 127.0.0.1, continent: eu, role: master, ssh: {port: %s}}
  - {name: mirror, address: 127.0.0.2, continent: eu, role: mirror, ssh: {port: %s}}
  - {name: na, address: 127.0.0.3, continent: na, role: replica, ssh: {port: %s}}
`, filepath.Base(key), port("master"), port("mirror"), port("na"))
	path := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c := NewConnector(inv, ConnectOptions{})
	defer c.Close()
	ctx := context.Background()
	for _, n := range inv.Ordered() {
		h, err := c.Host(ctx, n)
		if err != nil {
			t.Fatalf("Host(%s): %v", n.Name, err)
		}
		out, err := h.Query(ctx, "printf", "%s", n.Name)
		if err != nil || string(out) != n.Name {
			t.Errorf("%s: Query = %q, %v", n.Name, out, err)
		}
	}
	if got := servers["master"].Forwards(); got != 1 {
		t.Errorf("master forwarded %d connections, want 1 (to the replica)", got)
	}
	if got := servers["mirror"].Forwards(); got != 0 {
		t.Errorf("mirror forwarded %d connections, want 0", got)
	}
	a, _ := c.Client(ctx, inv.Master())
	b, _ := c.Client(ctx, inv.Master())
	if a != b {
		t.Error("Client dialled the master twice; want the cached connection")
	}
}

// keyAndNoKnownHosts writes a client key and an empty known_hosts: nothing
// will finish a handshake, which is what tests of hanging nodes want.
func keyAndNoKnownHosts(t *testing.T) (key, known string) {
	t.Helper()
	dir := t.TempDir()
	key, _ = sshxtest.WriteKey(t, dir, "")
	known = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return key, known
}

func TestConnectorSilentNodeHoldsUpNoOther(t *testing.T) {
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	mirror := sshxtest.NewServer(t, pub, sshxtest.WithListen("127.0.0.1:0"))
	known := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(known, []byte(knownhosts.Line([]string{mirror.Addr}, mirror.HostKeys[0].PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	silent, _ := sshxtest.Silent(t)
	inv := &inventory.Inventory{Nodes: []inventory.Node{
		sshxtest.Node(t, "master", inventory.RoleMaster, silent, key, known, time.Minute),
		sshxtest.Node(t, "mirror", inventory.RoleMirror, mirror.Addr, key, known, time.Minute),
	}}
	c := NewConnector(inv, ConnectOptions{})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	masterDone := make(chan error, 1)
	go func() {
		_, err := c.Client(ctx, inv.Nodes[0])
		masterDone <- err
	}()
	if _, err := c.Client(context.Background(), inv.Nodes[1]); err != nil {
		t.Fatalf("mirror: %v", err)
	}
	select {
	case err := <-masterDone:
		t.Fatalf("the silent master's dial ended (%v) before the mirror's: dials are serialised", err)
	default:
	}
	cancel()
	if err := <-masterDone; err == nil {
		t.Error("the silent master connected")
	}
}

func TestConnectorRemembersADeadMaster(t *testing.T) {
	key, known := keyAndNoKnownHosts(t)
	silent, accepted := sshxtest.Silent(t)
	inv := &inventory.Inventory{Nodes: []inventory.Node{
		sshxtest.Node(t, "master", inventory.RoleMaster, silent, key, known, 500*time.Millisecond),
		sshxtest.Node(t, "na", inventory.RoleReplica, "127.0.0.1:9", key, known, time.Minute),
		sshxtest.Node(t, "sa", inventory.RoleReplica, "127.0.0.1:9", key, known, time.Minute),
	}}
	c := NewConnector(inv, ConnectOptions{})
	defer c.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, n := range inv.Nodes[1:] {
		wg.Go(func() { _, errs[i] = c.Client(context.Background(), n) })
	}
	wg.Wait()
	for i, err := range errs {
		name := inv.Nodes[i+1].Name
		if err == nil || !strings.Contains(err.Error(), name+": reach it through a jump host") {
			t.Errorf("%s: %v; want it to fail through the master", name, err)
		}
	}
	if _, err := c.Client(context.Background(), inv.Master()); err == nil {
		t.Error("the silent master connected")
	}
	if n := accepted(); n != 1 {
		t.Errorf("the master was dialled %d times, want once for both replicas and the retry", n)
	}
}

func TestConnectorCapsConnectTimeout(t *testing.T) {
	key, known := keyAndNoKnownHosts(t)
	silent, accepted := sshxtest.Silent(t)
	inv := &inventory.Inventory{Nodes: []inventory.Node{sshxtest.Node(t, "master", inventory.RoleMaster, silent, key, known, time.Hour)}}
	c := NewConnector(inv, ConnectOptions{ConnectTimeout: 200 * time.Millisecond})
	defer c.Close()
	// The inventory's hour would outlast the test's own deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.Client(ctx, inv.Master())
	if err == nil || ctx.Err() != nil || accepted() != 1 {
		t.Errorf("Client = %v with ctx %v after %d connections; want the capped timeout to end the one dial first", err, ctx.Err(), accepted())
	}
	t.Logf("capped: %v", err)
}
