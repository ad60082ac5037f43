package anycast

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"counter/internal/netnsdir"
	"counter/internal/testutil"
)

func TestMain(m *testing.M) {
	// The namespaces may be the machine's first: remove the /run/netns
	// mount that made, as the lab does.
	before := netnsdir.Note()
	code := m.Run()
	made := before.Made()
	if err := made.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, "remove what ip netns add made:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// The test's two namespaces: a serving node and its router, on one veth.
var (
	nodeAddr   = netip.MustParseAddr("10.213.252.2")
	routerAddr = netip.MustParseAddr("10.213.252.1")
	anycastIP  = netip.MustParseAddr("10.213.253.1")
)

const (
	nodeASN   = 65001
	routerASN = 65000
)

// routerConf is the router's side: take the node's routes into the kernel.
const routerConf = `log stderr all;
router id %[1]s;
protocol device {}
protocol kernel { ipv4 { import none; export all; }; }
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol bgp node {
	local as %[2]d;
	neighbor %[3]s as %[4]d;
	connect delay time 1;
	bfd on;
	ipv4 { import all; export none; };
}
`

// newNetns makes ctr-any-<id>-<suffix>, removed when the test ends, also on failure.
func newNetns(t *testing.T, id, suffix string) string {
	return testutil.NewNetns(t, "ctr-any-"+id+"-"+suffix)
}

// startBird runs bird in the foreground inside ns and stops it by pid when
// the test ends; its socket is returned.
func startBird(t *testing.T, ns, name string, conf []byte) Bird {
	t.Helper()
	dir := t.TempDir()
	confPath := filepath.Join(dir, name+".conf")
	testutil.WriteFile(t, confPath, conf, 0o644)
	sock := filepath.Join(dir, name+".ctl")
	log := &testutil.Buffer{}
	// ip netns exec execs bird in place: the pid is bird's.
	c := exec.Command("ip", "netns", "exec", ns, "bird", "-f", "-c", confPath, "-s", sock)
	c.Stdout, c.Stderr = log, log
	if err := c.Start(); err != nil {
		t.Fatalf("start bird in %s: %v", ns, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("bird %s log:\n%s", name, log.String())
		}
	})
	b := Bird{Socket: sock}
	testutil.Poll(t, 10*time.Second, "bird "+name+" answers on its socket", func(ctx context.Context) error {
		select {
		case err := <-done:
			return testutil.Stop(fmt.Errorf("bird exited: %v\n%s", err, log.String()))
		default:
		}
		_, err := b.Command(ctx, "show status")
		return err
	})
	return b
}

// kernelRoute is the router's kernel route to the anycast /32, "" if none.
func kernelRoute(t *testing.T, ns string) string {
	t.Helper()
	return strings.TrimSpace(testutil.Run(t, "ip", "-n", ns, "route", "show", anycastIP.String()+"/32"))
}

// TestBirdAnnouncesWhileReady runs the provisioned bird.conf on real bird2
// in one namespace (the node) peering over BGP with BFD with a second BIRD
// (the router), and the announcer against a /readyz the test flips: the
// /32 reaches the router's kernel while ready, leaves it within the fall
// count when /readyz fails, and the guard brings it back when no peer is
// ready either.
func TestBirdAnnouncesWhileReady(t *testing.T) {
	testutil.NeedRoot(t, "network namespaces and bird")
	testutil.NeedTool(t, "ip", "iproute2")
	testutil.NeedTool(t, "bird", "bird2")

	id := testutil.RandHex(t, 3)
	nodeNS, routerNS := newNetns(t, id, "node"), newNetns(t, id, "rtr")
	testutil.Run(t, "ip", "-n", nodeNS, "link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns", routerNS)
	testutil.Run(t, "ip", "-n", nodeNS, "addr", "add", nodeAddr.String()+"/30", "dev", "up0")
	testutil.Run(t, "ip", "-n", nodeNS, "link", "set", "up0", "up")
	testutil.Run(t, "ip", "-n", nodeNS, "addr", "add", anycastIP.String()+"/32", "dev", "lo")
	testutil.Run(t, "ip", "-n", routerNS, "addr", "add", routerAddr.String()+"/30", "dev", "down0")
	testutil.Run(t, "ip", "-n", routerNS, "link", "set", "down0", "up")

	conf, err := RenderBirdConf(BirdParams{
		RouterID: nodeAddr, ASN: nodeASN, Address: anycastIP,
		Peers: []Peer{{Address: routerAddr, ASN: routerASN, BFD: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The test reads BIRD's log on stderr, not the host's syslog.
	conf = []byte(strings.Replace(string(conf), "log syslog all;", "log stderr all;", 1))
	node := startBird(t, nodeNS, "node", conf)
	startBird(t, routerNS, "router", fmt.Appendf(nil, routerConf, routerAddr, routerASN, nodeAddr, nodeASN))

	testutil.Poll(t, 30*time.Second, "the BGP session is established", func(ctx context.Context) error {
		up, err := node.ProtocolUp(ctx, "peer0")
		if err == nil && !up {
			err = errors.New("peer0 not up")
		}
		return err
	})
	testutil.Poll(t, 30*time.Second, "the BFD session is up", func(ctx context.Context) error {
		lines, err := node.Command(ctx, "show bfd sessions")
		if err != nil {
			return err
		}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == routerAddr.String() && f[2] == "Up" {
				return nil
			}
		}
		return fmt.Errorf("no Up session with %s in %q", routerAddr, lines)
	})
	// BIRD starts with the /32 disabled: nothing is announced before the announcer says so.
	if r := kernelRoute(t, routerNS); r != "" {
		t.Fatalf("before the announcer, the router has a route to %s: %s", anycastIP, r)
	}
	if up, err := node.ProtocolUp(t.Context(), DefaultProtocol); err != nil || up {
		t.Fatalf("static protocol %s up=%v err=%v; want it provisioned disabled", DefaultProtocol, up, err)
	}

	local, peer := newReadyz(t, 200), newReadyz(t, 200)
	const fall = 3
	a, err := New(Config{
		ReadyzURL: local.URL(), PeerURLs: []string{peer.URL()},
		Counts: Counts{Rise: 2, Fall: fall}, MinPeersReady: 1,
		Interval: 200 * time.Millisecond, Timeout: time.Second,
		Router: BirdRouter{Bird: node, Protocol: DefaultProtocol},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-stopped })

	announced := func(want bool) func(context.Context) error {
		return func(context.Context) error {
			r := kernelRoute(t, routerNS)
			switch {
			case want && !strings.Contains(r, "via "+nodeAddr.String()):
				return fmt.Errorf("router's route to %s: %q, want one via %s", anycastIP, r, nodeAddr)
			case !want && r != "":
				return fmt.Errorf("router still routes %s: %q", anycastIP, r)
			}
			return nil
		}
	}
	testutil.Poll(t, 20*time.Second, "the router learns the /32 while /readyz is ready", announced(true))

	// /readyz fails: withdrawn after exactly the fall count of checks
	// (one more may be in flight while the test looks).
	start, before := time.Now(), local.hits.Load()
	local.status.Store(503)
	testutil.Poll(t, 20*time.Second, "the router drops the /32 after /readyz fails", announced(false))
	checks := local.hits.Load() - before
	t.Logf("withdrawn after %d failed checks, %s after /readyz failed (interval 200ms, fall %d)", checks, time.Since(start).Round(time.Millisecond), fall)
	if checks < fall || checks > fall+1 {
		t.Errorf("withdrawn after %d failed checks, want %d (the fall count)", checks, fall)
	}

	// The guard: the only peer fails too, so this node, still answering,
	// is the best there is and announces again.
	peer.status.Store(503)
	testutil.Poll(t, 20*time.Second, "the guard announces again when no peer is ready", announced(true))
	peer.status.Store(200)
	testutil.Poll(t, 20*time.Second, "withdrawn again once a peer is ready", announced(false))

	// counterd stops answering at all: no guard.
	peer.status.Store(503)
	local.status.Store(0)
	downFrom := local.hits.Load()
	testutil.Poll(t, 20*time.Second, "stays withdrawn while counterd does not answer", func(ctx context.Context) error {
		// After more than fall checks of "no answer" it must still be withdrawn.
		if local.hits.Load()-downFrom < 2*fall {
			return errors.New("not enough checks yet")
		}
		return announced(false)(ctx)
	})

	// Ready again: back after the rise count.
	local.status.Store(200)
	testutil.Poll(t, 20*time.Second, "announced again after rise", announced(true))

	// A BIRD refusal is an error the caller can tell apart.
	if err := node.SetProtocol(t.Context(), "nosuch", true); !errors.Is(err, ErrBird) {
		t.Errorf("enable nosuch = %v, want ErrBird", err)
	}
}
