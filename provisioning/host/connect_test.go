package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
