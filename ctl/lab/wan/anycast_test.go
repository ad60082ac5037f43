package wan

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"counter/internal/netnsdir"
	"counter/internal/testutil"
)

func TestAnycastDelaysFor(t *testing.T) {
	addr := netip.MustParseAddr
	client, near, far := "10.0.9.2", "10.0.1.2", "10.0.2.2"
	base := NewDelays([]Pair{
		{A: addr(client), B: addr(near), OneWay: Duration(7 * time.Millisecond)},
		{A: addr(client), B: addr(far), OneWay: Duration(45 * time.Millisecond)},
	})
	d := NewAnycastDelays(base, addr("10.0.250.1"))
	check := func(name string, pkt []byte, want time.Duration) {
		t.Helper()
		if got := d.For(pkt); got != want {
			t.Errorf("%s: For = %v, want %v", name, got, want)
		}
	}
	check("no receiver yet: no route either", ipv4(client, "10.0.250.1", 0), 0)
	d.Set(map[netip.Addr]netip.Addr{addr(client): addr(near)})
	check("to the anycast address: the near node's delay", ipv4(client, "10.0.250.1", 0), 7*time.Millisecond)
	check("its reply", ipv4("10.0.250.1", client, 0), 7*time.Millisecond)
	check("unicast pairs keep theirs", ipv4(client, far, 0), 45*time.Millisecond)
	check("another client without a receiver", ipv4("10.0.8.2", "10.0.250.1", 0), 0)
	d.Set(map[netip.Addr]netip.Addr{addr(client): addr(far)})
	check("after the near node withdraws: the far node's delay", ipv4(client, "10.0.250.1", 0), 45*time.Millisecond)
	check("and its reply", ipv4("10.0.250.1", client, 0), 45*time.Millisecond)
}

// TestKernelReceivers fills per-client routing tables in a namespace of
// its own, as the lab's BIRD does in ctr-wan, and reads them back.
func TestKernelReceivers(t *testing.T) {
	testutil.NeedRoot(t, "a network namespace with routing tables")
	testutil.NeedTool(t, "ip", "iproute2")
	ns := "ctr-wnt-" + testutil.RandHex(t, 3)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	before := netnsdir.Note()
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", ns, err, out)
		}
		made := before.Made()
		if err := made.Remove(); err != nil {
			t.Error(err)
		}
	})
	// No dummy interfaces in this kernel: a veth pair gives the gateways a link.
	ip("link", "add", "a0", "type", "veth", "peer", "name", "b0")
	ip("addr", "add", "10.0.1.1/24", "dev", "a0")
	ip("link", "set", "a0", "up")
	ip("link", "set", "b0", "up")
	ip("route", "add", "10.0.250.1/32", "via", "10.0.1.2", "table", "1001")
	ip("route", "add", "10.0.77.0/24", "via", "10.0.1.4", "table", "1001") // another destination
	ip("route", "add", "10.0.250.1/32", "via", "10.0.1.3", "table", "1002")
	ip("route", "add", "unreachable", "10.0.250.1/32", "table", "1003") // nobody announces
	ip("route", "add", "10.0.250.1/32", "via", "10.0.1.9")              // main: no client's table

	a := Anycast{Address: netip.MustParseAddr("10.0.250.1"), Clients: []ClientTable{
		{Client: netip.MustParseAddr("10.0.9.2"), Table: 1001},
		{Client: netip.MustParseAddr("10.0.8.2"), Table: 1002},
		{Client: netip.MustParseAddr("10.0.7.2"), Table: 1003},
		{Client: netip.MustParseAddr("10.0.6.2"), Table: 1004},
	}}
	read := func() map[netip.Addr]netip.Addr {
		t.Helper()
		var got map[netip.Addr]netip.Addr
		if err := netnsdir.In(ns, func() (err error) { got, err = KernelReceivers(a); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := map[netip.Addr]netip.Addr{
		netip.MustParseAddr("10.0.9.2"): netip.MustParseAddr("10.0.1.2"),
		netip.MustParseAddr("10.0.8.2"): netip.MustParseAddr("10.0.1.3"),
	}
	if got := read(); !maps.Equal(got, want) {
		t.Fatalf("KernelReceivers = %v, want %v", got, want)
	}

	// The watcher follows a change, as when a node withdraws: on the
	// kernel's notice, not its poll (an hour here), so a client that moved
	// is delayed by its new node from its first packets on.
	d := NewAnycastDelays(nil, a.Address)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = netnsdir.In(ns, func() error {
			WatchReceivers(ctx, a, d, time.Hour, slog.New(slog.DiscardHandler))
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	testutil.Eventually(t, 5*time.Second, "the watcher reads the tables", func() bool { return maps.Equal(d.Receivers(), want) })
	ip("route", "replace", "10.0.250.1/32", "via", "10.0.1.5", "table", "1001")
	want[netip.MustParseAddr("10.0.9.2")] = netip.MustParseAddr("10.0.1.5")
	moved := time.Now()
	testutil.Poll(t, 5*time.Second, "the watcher follows the changed route", func(context.Context) error {
		if got := d.Receivers(); !maps.Equal(got, want) {
			return fmt.Errorf("receivers %v, want %v", got, want)
		}
		return nil
	})
	t.Logf("the watcher followed the changed route within %s", time.Since(moved))
	// And a route that goes away (a withdrawal with no other node) drops the client.
	ip("route", "del", "10.0.250.1/32", "table", "1002")
	delete(want, netip.MustParseAddr("10.0.8.2"))
	testutil.Poll(t, 5*time.Second, "the watcher follows the deleted route", func(context.Context) error {
		if got := d.Receivers(); !maps.Equal(got, want) {
			return fmt.Errorf("receivers %v, want %v", got, want)
		}
		return nil
	})
}
