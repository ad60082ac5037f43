package dnswatch

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"counter/internal/dnstest"
	"counter/internal/redistest"
	"counter/internal/testutil"
	"counter/provisioning/anycast"
	"counter/provisioning/dnsupdate"
)

// readyz is a real /readyz on a loopback port whose answer the test flips.
func readyz(t *testing.T) (*atomic.Bool, string) {
	var ok atomic.Bool
	ok.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ok.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return &ok, srv.URL + "/readyz"
}

// addrs is what the server answers for name's A records, sorted.
func addrs(ctx context.Context, srv *dnstest.Server, name string) ([]string, error) {
	rrs, err := srv.Lookup(ctx, name, dns.TypeA)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range rrs {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	slices.Sort(out)
	return out, nil
}

func waitAddrs(t *testing.T, srv *dnstest.Server, name string, want ...string) time.Duration {
	t.Helper()
	start := time.Now()
	testutil.Poll(t, 20*time.Second, name+" = "+fmt.Sprint(want), func(ctx context.Context) error {
		got, err := addrs(ctx, srv, name)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s = %v", name, got)
		}
		return nil
	})
	return time.Since(start)
}

// TestWatcherKnotSentinel runs two watchers (the master's and the
// replica's) against a real knotd and three real sentinels: the master's
// publishes; a node failing /readyz leaves its continent's name and
// returns; after the master's Redis is killed the sentinels promote the
// replica, whose watcher moves master.<service> to it.
func TestWatcherKnotSentinel(t *testing.T) {
	zone := "example.test."
	knot := dnstest.StartKnot(t, zone, "")
	cl := redistest.StartCluster(t, redistest.ClusterConfig{Name: "lab", Priorities: []int{10}})

	_, urlA := readyz(t)
	_, urlB := readyz(t)
	okC, urlC := readyz(t)
	cfg := Config{Cluster: "lab", Zone: zone, Service: "counter", TTLSeconds: 5,
		Server: knot.Addr, TSIGName: knot.KeyName, TSIGAlg: dnstest.Algorithm,
		Nodes: []Node{
			{Name: "a", Address: "192.0.2.1", Continent: "eu", Redis: cl.Master.Addr(), Readyz: urlA},
			{Name: "b", Address: "192.0.2.2", Continent: "eu", Redis: cl.Replicas[0].Addr(), Readyz: urlB},
			{Name: "c", Address: "192.0.2.3", Continent: "na", Redis: "127.0.0.1:1", Readyz: urlC},
		},
		RTT: []RTT{{A: "eu", B: "na", Ms: 80}},
	}
	store := &dnsupdate.Server{Addr: knot.Addr, Timeout: 5 * time.Second,
		Key: dnsupdate.Key{Name: knot.KeyName, Algorithm: dnstest.Algorithm, Secret: knot.Secret}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{}, 2)
	t.Cleanup(func() { cancel(); <-done; <-done })
	for i, self := range []string{"a", "b"} {
		c := cfg
		c.Self, c.Sentinel = self, cl.Sentinels[i].Addr()
		w, err := New(c, Options{Counts: anycast.Counts{Rise: 2, Fall: 2}, Interval: 100 * time.Millisecond,
			Master: &Sentinel{Addr: c.Sentinel, Name: "lab"}, Store: store, Logger: testLogger(t, self)})
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = w.Run(ctx); done <- struct{}{} }()
	}

	svc := "counter." + zone
	waitAddrs(t, knot, svc, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	waitAddrs(t, knot, "master."+svc, "192.0.2.1")
	waitAddrs(t, knot, "na."+svc, "192.0.2.3")

	okC.Store(false)
	// The nearest healthy node stands in (ties: inventory order).
	took := waitAddrs(t, knot, "na."+svc, "192.0.2.1")
	t.Logf("c unready -> left na's name in %v", took.Round(10*time.Millisecond))
	waitAddrs(t, knot, svc, "192.0.2.1", "192.0.2.2")
	okC.Store(true)
	waitAddrs(t, knot, "na."+svc, "192.0.2.3")

	cl.Master.Kill()
	killed := time.Now()
	cl.WaitNewMaster(t, cl.Master, 30*time.Second)
	promoted := time.Since(killed)
	took = waitAddrs(t, knot, "master."+svc, "192.0.2.2")
	t.Logf("master killed -> promoted in %v; promotion seen -> master.%s moved in %v", promoted.Round(10*time.Millisecond), svc, took.Round(10*time.Millisecond))
}
