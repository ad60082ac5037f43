package firewall

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

// pair is two namespaces joined by a veth: a is the node under test, b
// holds one address per kind of peer, in IPv4 and IPv6.
type pair struct {
	a, b                                         string
	node, master, mirror, other, outsider, admin [2]netip.Addr // [0] IPv4, [1] IPv6
}

func newPair(t *testing.T) pair {
	t.Helper()
	id := testutil.RandHex(t, 3)
	v4, v6 := freeSubnets(t)
	p := pair{a: newNetns(t, id, "a"), b: newNetns(t, id, "b")}
	la, lb := "ctr"+id+"a", "ctr"+id+"b"
	testutil.Run(t, "ip", "-n", p.a, "link", "add", la, "type", "veth", "peer", "name", lb, "netns", p.b)
	host := func(i int) [2]netip.Addr {
		a4 := v4.Addr().As4()
		a4[3] += byte(i)
		a6 := v6.Addr().As16()
		a6[15] += byte(i)
		return [2]netip.Addr{netip.AddrFrom4(a4), netip.AddrFrom16(a6)}
	}
	p.node, p.master, p.mirror, p.other, p.outsider, p.admin = host(1), host(2), host(3), host(4), host(5), host(6)
	addrs := func(ns, link string, hs ...[2]netip.Addr) {
		for _, h := range hs {
			testutil.Run(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("%s/%d", h[0], v4.Bits()), "dev", link)
			// nodad: the address is usable at once instead of after DAD.
			testutil.Run(t, "ip", "-n", ns, "addr", "add", fmt.Sprintf("%s/%d", h[1], v6.Bits()), "dev", link, "nodad")
		}
		testutil.Run(t, "ip", "-n", ns, "link", "set", link, "up")
	}
	addrs(p.a, la, p.node)
	addrs(p.b, lb, p.master, p.mirror, p.other, p.outsider, p.admin)
	// Until DAD of the link-local addresses ends, the first neighbour
	// solicitations get lost and a connect takes a 1 s retransmission.
	for _, nl := range [][2]string{{p.a, la}, {p.b, lb}} {
		testutil.Eventually(t, 5*time.Second, fmt.Sprintf("IPv6 addresses of %s in %s not tentative", nl[1], nl[0]), func() bool {
			return strings.TrimSpace(testutil.Run(t, "ip", "-n", nl[0], "-6", "addr", "show", "dev", nl[1], "tentative")) == ""
		})
	}
	return p
}

// freeSubnets picks a 10.250.x.0/29 and a random ULA /64 that no route of
// the host overlaps (the namespaces are separate, but an address that
// looks like a real network would only confuse whoever reads the test).
func freeSubnets(t *testing.T) (netip.Prefix, netip.Prefix) {
	t.Helper()
	var routes []netip.Prefix
	for _, fam := range []string{"-4", "-6"} {
		var rs []struct{ Dst string }
		if err := json.Unmarshal([]byte(testutil.Run(t, "ip", "-j", fam, "route", "show", "table", "all")), &rs); err != nil {
			t.Fatalf("parse ip -j route: %v", err)
		}
		for _, r := range rs {
			if p, err := netip.ParsePrefix(r.Dst); err == nil {
				routes = append(routes, p)
			} else if a, err := netip.ParseAddr(r.Dst); err == nil {
				routes = append(routes, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	free := func(p netip.Prefix) bool {
		for _, r := range routes {
			// A default route overlaps everything and routes nothing here.
			if r.Bits() > 0 && r.Overlaps(p) {
				return false
			}
		}
		return true
	}
	for range 20 {
		b := make([]byte, 6)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		v4 := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, b[0], 0}), 29)
		var a6 [16]byte
		a6[0] = 0xfd
		copy(a6[1:6], b[1:])
		v6 := netip.PrefixFrom(netip.AddrFrom16(a6), 64)
		if free(v4) && free(v6) {
			return v4, v6
		}
	}
	t.Fatal("no free 10.250.x.0/29 after 20 tries; see ip route show table all")
	return netip.Prefix{}, netip.Prefix{}
}

// TestReplicaRulesetInNamespaces applies a replica's ruleset inside a
// namespace and connects to it from another: HTTP from anywhere, Redis
// TLS from cluster nodes only, SSH from the master and the mirror only,
// counterd's metrics from the admin network only, ping and IPv6 (which
// needs neighbour discovery) still working.
func TestReplicaRulesetInNamespaces(t *testing.T) {
	requireNetAdmin(t)
	p := newPair(t)
	ports := DefaultPorts()
	startListener(t, p.a, ports.HTTP, ports.HTTPS, ports.Redis, ports.SSH, ports.Metrics, ports.Sentinel)

	type tcase struct {
		name     string
		from     [2]netip.Addr
		port     uint16
		wantOpen bool
	}
	tests := []tcase{
		{"http from outsider", p.outsider, ports.HTTP, true},
		{"https from outsider", p.outsider, ports.HTTPS, true},
		{"redis from outsider", p.outsider, ports.Redis, false},
		{"redis from other node", p.other, ports.Redis, true},
		{"redis from master", p.master, ports.Redis, true},
		{"sentinel from outsider", p.outsider, ports.Sentinel, false},
		{"sentinel from admin", p.admin, ports.Sentinel, false},
		{"sentinel from other node", p.other, ports.Sentinel, true},
		{"sentinel from master", p.master, ports.Sentinel, true},
		{"ssh from outsider", p.outsider, ports.SSH, false},
		{"ssh from other node", p.other, ports.SSH, false},
		{"ssh from master", p.master, ports.SSH, true},
		{"ssh from mirror", p.mirror, ports.SSH, true},
		{"ssh from admin", p.admin, ports.SSH, false}, // a replica's SSH comes from the master
		{"metrics from admin", p.admin, ports.Metrics, true},
		{"metrics from outsider", p.outsider, ports.Metrics, false},
		{"metrics from master", p.master, ports.Metrics, false},
	}
	var probes []probe
	var names []string
	for _, tc := range tests {
		for fam, suffix := range []string{" (IPv4)", " (IPv6)"} {
			probes = append(probes, probe{From: tc.from[fam], To: p.node[fam], Port: tc.port})
			names = append(names, tc.name+suffix)
		}
	}
	// Resolve every neighbour once, so a 300 ms connect never waits for
	// a lost first solicitation; ND itself is proven after the rules.
	for _, src := range [][2]netip.Addr{p.master, p.mirror, p.other, p.outsider, p.admin} {
		for fam := range src {
			ping(t, p.b, src[fam], p.node[fam])
		}
	}
	// Everything is open before the rules: what closes later is their doing.
	for i, open := range probeFrom(t, p.b, probes) {
		if !open {
			t.Errorf("%s: closed before any rule; the test setup is broken", names[i])
		}
	}

	// An admin's table in the node must survive our applies.
	adminTable := "table inet ctr_admin {\n\tchain input {\n\t\ttype filter hook input priority 10; policy accept;\n\t}\n}\n"
	nftFile(t, p.a, adminTable)

	rules, err := Render(Params{
		Role:          Replica,
		Nodes:         []netip.Addr{p.node[0], p.node[1], p.master[0], p.master[1], p.mirror[0], p.mirror[1], p.other[0], p.other[1]},
		Master:        p.master[:],
		Mirror:        p.mirror[:],
		AdminNetworks: []netip.Prefix{netip.PrefixFrom(p.admin[0], 32), netip.PrefixFrom(p.admin[1], 128)},
	})
	if err != nil {
		t.Fatal(err)
	}
	nftFile(t, p.a, string(rules))
	nftFile(t, p.a, string(rules)) // a second apply is idempotent

	closed := 0
	for i, open := range probeFrom(t, p.b, probes) {
		want := tests[i/2].wantOpen
		if open != want {
			t.Errorf("%s to port %d: open = %v, want %v", names[i], probes[i].Port, open, want)
		}
		if !open {
			closed++
		}
	}
	// With the neighbour caches flushed, an IPv6 ping needs neighbour
	// discovery both ways through the ruleset.
	testutil.Run(t, "ip", "-n", p.a, "neigh", "flush", "all")
	testutil.Run(t, "ip", "-n", p.b, "neigh", "flush", "all")
	for fam := range p.outsider {
		ping(t, p.b, p.outsider[fam], p.node[fam])
	}

	tables := testutil.Run(t, inNetns(p.a, "nft", "list", "tables")...)
	if strings.Count(tables, "table inet "+Table+"\n") != 1 || !strings.Contains(tables, "table inet ctr_admin\n") {
		t.Errorf("tables after two applies = %q, want one inet %s and the admin's ctr_admin", tables, Table)
	}
	dropped, err := ParseDropped([]byte(testutil.Run(t, inNetns(p.a, StatusArgv()...)...)))
	if err != nil {
		t.Fatal(err)
	}
	if dropped.Packets < uint64(closed) {
		t.Errorf("drop counter = %+v after %d refused connects, want at least %d packets", dropped, closed, closed)
	}
}

// ping sends one echo request from ns and fails the test without a reply.
func ping(t *testing.T, ns string, from, to netip.Addr) {
	t.Helper()
	argv := inNetns(ns, "ping", "-c", "1", "-W", "2", "-I", from.String(), to.String())
	if out, err := osexec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Errorf("ping %s from %s: %v\n%s", to, from, err, out)
	}
}

// nftFile loads content with nft -f inside ns.
func nftFile(t *testing.T, ns, content string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	testutil.Run(t, inNetns(ns, "nft", "-f", path)...)
}
