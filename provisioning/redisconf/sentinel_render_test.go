package redisconf

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"counter/internal/testutil"
)

func goldenSentinelParams() SentinelParams {
	return SentinelParams{
		Node: "na", Name: "counter",
		Bind:       []netip.Addr{netip.MustParseAddr("198.51.100.20")},
		AnnounceIP: netip.MustParseAddr("198.51.100.20"),
		Master:     netip.MustParseAddr("198.51.100.10"), Quorum: 4, ParallelSyncs: 5,
		RedisPassword: testSentinelPassword, PeerPassword: `peer-"pass\word-0123456789`,
		CounterdPassword: testCounterdPassword, AdminPassword: "admin-password-0123456789",
	}
}

func TestRenderSentinelGolden(t *testing.T) {
	got, err := RenderSentinel(goldenSentinelParams())
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "sentinel.conf"), got)
	for _, want := range []string{
		"port 0", "tls-port 26379", "bind 127.0.0.1 -::1 198.51.100.20", "tls-auth-clients yes",
		"sentinel monitor counter 198.51.100.10 6380 4", "sentinel auth-user counter sentinel",
		"sentinel down-after-milliseconds counter 3500", "sentinel failover-timeout counter 10000",
		"sentinel parallel-syncs counter 5", "sentinel client-reconfig-script counter /etc/counter/failover-hook",
		"sentinel announce-ip 198.51.100.20", "user default reset",
	} {
		if !hasLine(string(got), want) {
			t.Errorf("no line starting %q", want)
		}
	}
	if strings.Contains(string(got), testCounterdPassword) || strings.Contains(string(got), "admin-password") {
		t.Error("a sentinel ACL password is written in clear (only hashes belong there)")
	}
	red := RedactSentinel(got)
	if strings.Contains(string(red), testSentinelPassword) || strings.Contains(string(red), "peer-") {
		t.Errorf("RedactSentinel leaves a password:\n%s", red)
	}
}

func TestRenderSentinelErrors(t *testing.T) {
	p := goldenSentinelParams()
	p.Quorum = 0
	p.AdminPassword = p.PeerPassword
	p.Master = netip.Addr{}
	_, err := RenderSentinel(p)
	for _, want := range []string{"Quorum: 0", "AdminPassword: same as PeerPassword", "Master: invalid IP is not a usable address"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("RenderSentinel error %v, want it to contain %q", err, want)
		}
	}
}

// TestSentinelOwned: the owned part ignores the master's address, which
// Sentinel moves on a failover, and nothing else.
func TestSentinelOwned(t *testing.T) {
	p := goldenSentinelParams()
	a, _ := RenderSentinel(p)
	p.Master = netip.MustParseAddr("198.51.100.11")
	b, _ := RenderSentinel(p)
	if !bytes.Equal(SentinelOwned(a, "counter"), SentinelOwned(b, "counter")) {
		t.Error("the owned part changes with the master's address: provision would fight a failover")
	}
	p.Quorum = 3
	c, _ := RenderSentinel(p)
	if bytes.Equal(SentinelOwned(a, "counter"), SentinelOwned(c, "counter")) {
		t.Error("the owned part ignores the quorum")
	}
}

// TestMergeSentinel: a rewrite by provision keeps what Sentinel learnt
// about this master, drops what it knew of another, and keeps the
// rendered master address.
func TestMergeSentinel(t *testing.T) {
	conf, _ := RenderSentinel(goldenSentinelParams())
	old := string(conf) + `sentinel myid 3f2c
sentinel config-epoch counter 2
sentinel leader-epoch counter 2
sentinel current-epoch 2
sentinel known-replica counter 198.51.100.11 6380
sentinel known-sentinel counter 198.51.100.11 26379 aa11
sentinel known-replica other 192.0.2.1 6380
`
	got := string(MergeSentinel(conf, []byte(old), "counter"))
	for _, want := range []string{"sentinel myid 3f2c", "sentinel config-epoch counter 2", "sentinel current-epoch 2",
		"sentinel known-replica counter 198.51.100.11 6380", "sentinel known-sentinel counter 198.51.100.11 26379 aa11",
		"sentinel monitor counter 198.51.100.10 6380 4"} {
		if !hasLine(got, want) {
			t.Errorf("merged file has no line %q", want)
		}
	}
	if strings.Contains(got, "other 192.0.2.1") {
		t.Error("merged file keeps state of another master")
	}
	if !bytes.Equal(MergeSentinel(conf, nil, "counter"), conf) {
		t.Error("MergeSentinel with no old file changes the rendered file")
	}
}

// TestRenderPriorityAndFencing: an explicit promotion priority, 0 included,
// wins over the role's default; a one-node cluster is not fenced.
func TestRenderPriorityAndFencing(t *testing.T) {
	zero := 0
	p := goldenParams(RoleReplica)
	p.Priority = &zero
	p.MinReplicasToWrite = 0
	out, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"replica-priority 0", "min-replicas-to-write 0", "replica-announce-ip 198.51.100.60",
		"user sentinel reset on #" + sha256Hex(testSentinelPassword) + " &__sentinel__:hello -@all +ping"} {
		if !hasLine(string(out), want) {
			t.Errorf("no line starting %q", want)
		}
	}
	neg := -1
	p.Priority = &neg
	if _, err := Render(p); err == nil || !strings.Contains(err.Error(), "Priority: -1") {
		t.Errorf("Render with priority -1: %v, want an error", err)
	}
}
