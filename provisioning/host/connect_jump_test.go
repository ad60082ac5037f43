package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skeema/knownhosts"

	"counter/provisioning/inventory"
	"counter/provisioning/sshx/sshxtest"
)

// TestConnectorJumpsViaMirrorWhenMasterIsDead: after a failover the
// inventory's master is gone; replicas are still reached, through the
// mirror, the other node whose sshd and firewall allow jumping.
func TestConnectorJumpsViaMirrorWhenMasterIsDead(t *testing.T) {
	dir := t.TempDir()
	key, pub := sshxtest.WriteKey(t, dir, "")
	mirror := sshxtest.NewServer(t, pub)
	na := sshxtest.NewServer(t, pub)
	known := filepath.Join(dir, "known_hosts")
	lines := knownhosts.Line([]string{mirror.Addr}, mirror.HostKeys[0].PublicKey()) + "\n" +
		knownhosts.Line([]string{na.Addr}, na.HostKeys[0].PublicKey()) + "\n"
	if err := os.WriteFile(known, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	silent, _ := sshxtest.Silent(t)
	inv := &inventory.Inventory{Nodes: []inventory.Node{
		sshxtest.Node(t, "master", inventory.RoleMaster, silent, key, known, 300*time.Millisecond),
		sshxtest.Node(t, "mirror", inventory.RoleMirror, mirror.Addr, key, known, time.Minute),
		sshxtest.Node(t, "na", inventory.RoleReplica, na.Addr, key, known, time.Minute),
	}}
	c := NewConnector(inv, ConnectOptions{})
	defer c.Close()
	h, err := c.Host(context.Background(), inv.Nodes[2])
	if err != nil {
		t.Fatalf("na with the master dead: %v; want it reached through the mirror", err)
	}
	if out, err := h.Query(context.Background(), "printf", "%s", "na"); err != nil || string(out) != "na" {
		t.Errorf("na: Query = %q, %v", out, err)
	}
	if got := mirror.Forwards(); got != 1 {
		t.Errorf("mirror forwarded %d connections, want 1 (to na)", got)
	}
}
