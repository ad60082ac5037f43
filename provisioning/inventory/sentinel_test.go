package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
)

// TestLoadRejectsSentinel: promotion_priority and the Sentinel quorum are
// checked like every other key, with file, line and field.
func TestLoadRejectsSentinel(t *testing.T) {
	for _, tt := range []struct{ name, why string }{
		{"promotion-priority-bad", "promotion_priority is a whole number from 0 to 1000000"},
		{"sentinel-quorum-in-one-place", "one continent alone holds a majority of the sentinels"},
		{"sentinel-quorum-in-datacenter", "the master's datacentre alone holds a majority of the sentinels"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			path := filepath.Join("testdata", tt.name+".yaml")
			inv, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%q) = %+v, nil; want errors (%s)", path, inv, tt.why)
			}
			testutil.Golden(t, filepath.Join("testdata", tt.name+".golden"), []byte(err.Error()+"\n"))
			checkSortedFieldErrors(t, err, path)
		})
	}
}

// eu2 is an inventory of the master and its mirror in eu; tests add replicas.
const eu2 = `cluster: counter
dns: {zone: counter.example.net, server: 192.0.2.53, tsig: {name: update., algorithm: hmac-sha256, secret_env: T}}
admin_networks: [192.0.2.0/24]
secrets:
  redis_counterd_password: {env: A}
  redis_replication_password: {env: B}
  redis_sentinel_password: {env: B_S1}
  sentinel_peer_password: {env: B_S2}
  sentinel_counterctl_password: {env: B_S3}
nodes:
  - {name: master, address: 192.0.2.10, continent: eu, role: master}
  - {name: mirror, address: 192.0.2.11, continent: eu, role: mirror}
`

// TestPromotionPriority: defaults put the master's datacentre first and
// leave the replicas equal, so the replication offset decides among them;
// an explicit value, 0 included, wins.
func TestPromotionPriority(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	yml := eu2 + `  - {name: na, address: 192.0.2.20, continent: na, role: replica}
  - {name: sa, address: 192.0.2.30, continent: sa, role: replica, promotion_priority: 0}
  - {name: asia, address: 192.0.2.40, continent: asia, role: replica, promotion_priority: 50}
  - {name: africa, address: 192.0.2.50, continent: africa, role: replica}
`
	path := filepath.Join(dir, "inv.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"master": 10, "mirror": 10, "na": 100, "sa": 0, "asia": 50, "africa": 100}
	for _, n := range inv.Nodes {
		if n.PromotionPriority != want[n.Name] {
			t.Errorf("%s: PromotionPriority = %d, want %d", n.Name, n.PromotionPriority, want[n.Name])
		}
	}
	if q := inv.SentinelQuorum(); q != 4 {
		t.Errorf("SentinelQuorum() = %d, want 4 (majority of 6)", q)
	}
}

// TestSentinelQuorumSmallClusters: one or two datacentres cannot keep a
// majority through the loss of the bigger; such clusters load (no
// automatic failover across that loss: docs/failover.md).
func TestSentinelQuorumSmallClusters(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	yml := eu2
	path := filepath.Join(dir, "inv.yaml")
	three := yml + "  - {name: na, address: 192.0.2.20, continent: na, role: replica}\n"
	if err := os.WriteFile(path, []byte(three), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if q := inv.SentinelQuorum(); q != 2 {
		t.Errorf("SentinelQuorum() = %d, want 2", q)
	}
	one := strings.Replace(yml, "  - {name: mirror, address: 192.0.2.11, continent: eu, role: mirror}\n", "", 1)
	if err := os.WriteFile(path, []byte(one), 0o600); err != nil {
		t.Fatal(err)
	}
	if inv, err = Load(path); err != nil {
		t.Fatal(err)
	}
	if q := inv.SentinelQuorum(); q != 1 {
		t.Errorf("SentinelQuorum() = %d for one node, want 1", q)
	}
}

// TestSentinelRoles: the master's datacentre's sentinels and then the
// first node outside it need one vote fewer than a majority, and see the
// master down first and second; the next quorum-1 nodes report first, the
// rest last; where that does not fit, every sentinel is alike.
func TestSentinelRoles(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	replicas := func(prio map[string]string, names ...string) string {
		var b strings.Builder
		for i, n := range names {
			p := ""
			if v, ok := prio[n]; ok {
				p = ", promotion_priority: " + v
			}
			b.WriteString("  - {name: " + n + ", address: 192.0.2." + string(rune('2'+i)) + "0, continent: " + n + ", role: replica" + p + "}\n")
		}
		return b.String()
	}
	five := []string{"na", "sa", "asia", "africa", "oceania"}
	first, second, last := WaitFirst, WaitSecond, WaitLast
	for _, tt := range []struct {
		name string
		yml  string
		want map[string]SentinelRole
	}{
		{"the lab's seven", eu2 + replicas(nil, five...), map[string]SentinelRole{
			"master": {3, first}, "mirror": {3, first}, "na": {3, second}, "sa": {4, first},
			"asia": {4, first}, "africa": {4, last}, "oceania": {4, last},
		}},
		{"promotion order picks the second leader and the reporters", eu2 + replicas(map[string]string{"na": "0", "oceania": "50"}, five...), map[string]SentinelRole{
			"master": {3, first}, "mirror": {3, first}, "oceania": {3, second}, "sa": {4, first},
			"asia": {4, first}, "africa": {4, last}, "na": {4, last},
		}},
		{"three nodes: a quorum of 1 is one place's", eu2 + replicas(nil, "na"), map[string]SentinelRole{
			"master": {2, last}, "mirror": {2, last}, "na": {2, last},
		}},
		{"too few outside for a second leader and its reporters", eu2 + replicas(nil, "na", "sa", "asia"), map[string]SentinelRole{
			"master": {3, last}, "mirror": {3, last}, "na": {3, last}, "sa": {3, last}, "asia": {3, last},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inv.yaml")
			if err := os.WriteFile(path, []byte(tt.yml), 0o600); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			got := inv.SentinelRoles()
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s: %+v, want %+v", name, got[name], want)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("roles for %d nodes, want %d: %+v", len(got), len(tt.want), got)
			}
		})
	}
}
