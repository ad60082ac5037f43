package dnsupdate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"counter/internal/dnstest"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
)

// servers are the two authoritative servers the publisher must work with.
var servers = []struct {
	kind  string
	start func(testing.TB, string, string) *dnstest.Server
	// unsigned is what the server answers an update without a key.
	unsigned int
}{
	{"knot", dnstest.StartKnot, dns.RcodeNotAuth},
	{"bind", dnstest.StartBind, dns.RcodeRefused},
}

func forEachServer(t *testing.T, records string, f func(t *testing.T, srv *dnstest.Server, s *Server, unsigned int)) {
	for _, sv := range servers {
		t.Run(sv.kind, func(t *testing.T) {
			srv := sv.start(t, "example.test.", records)
			s := &Server{Addr: srv.Addr, Key: Key{Name: srv.KeyName, Algorithm: dnstest.Algorithm, Secret: srv.Secret}, Timeout: 5 * time.Second}
			f(t, srv, s, sv.unsigned)
		})
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// lookup is the server's answer for name and type, as sorted "TYPE data" strings.
func lookup(t *testing.T, srv *dnstest.Server, name string, qtype uint16) []string {
	t.Helper()
	rrs, err := srv.Lookup(testCtx(t), name, qtype)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rr := range rrs {
		r, _ := fromRR(rr)
		out = append(out, r.Type+" "+r.Data)
	}
	slices.Sort(out)
	return out
}

func want(t *testing.T, inv *inventory.Inventory, obs Observation) Desired {
	t.Helper()
	d, err := Want(inv, obs, labRTT)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPublishThenNoChange(t *testing.T) {
	forEachServer(t, "", func(t *testing.T, srv *dnstest.Server, s *Server, _ int) {
		inv := loadInventory(t)
		d := want(t, inv, allHealthy(inv))
		p, err := Publish(testCtx(t), s, d, nil)
		if err != nil || p.Empty() {
			t.Fatalf("first Publish = %d changes, %v; want changes applied", len(p.Changes), err)
		}
		if got, w := lookup(t, srv, "counter.example.test.", dns.TypeA), []string{"A 192.0.2.10", "A 192.0.2.11", "A 192.0.2.20", "A 192.0.2.40"}; !slices.Equal(got, w) {
			t.Errorf("counter A = %v, want %v", got, w)
		}
		if got := lookup(t, srv, "_counterctl.master.counter.example.test.", dns.TypeTXT); !slices.Equal(got, []string{"TXT " + OwnerText("testc")}) {
			t.Errorf("ownership TXT = %v", got)
		}
		p, err = Publish(testCtx(t), s, d, nil)
		if err != nil || !p.Empty() {
			var b strings.Builder
			_ = p.Write(&b)
			t.Fatalf("second Publish = %v; want no change, got:\n%s", err, b.String())
		}
	})
}

func TestUnsignedUpdateRefused(t *testing.T) {
	forEachServer(t, "", func(t *testing.T, srv *dnstest.Server, s *Server, unsigned int) {
		inv := loadInventory(t)
		d := want(t, inv, allHealthy(inv))
		z, err := s.Read(testCtx(t), d.Zone)
		if err != nil {
			t.Fatal(err)
		}
		nokey := &Server{Addr: s.Addr, Timeout: s.Timeout}
		err = nokey.Apply(testCtx(t), z, Diff(z, d))
		var rc *RcodeError
		if !errors.As(err, &rc) || rc.Rcode != unsigned {
			t.Errorf("unsigned Apply = %v, want the server to answer %s", err, dns.RcodeToString[unsigned])
		}
		if _, err := nokey.Read(testCtx(t), d.Zone); err == nil {
			t.Error("unsigned AXFR succeeded; want it refused")
		}
		// A real admin's tool without a key fares no better.
		for _, tool := range []string{"nsupdate", "knsupdate"} {
			bin, err := exec.LookPath(tool)
			if err != nil {
				t.Logf("SKIPPED %s: not installed", tool)
				continue
			}
			host, port, _ := strings.Cut(srv.Addr, ":")
			script := "server " + host + " " + port + "\nzone example.test.\nupdate add sneaky.example.test. 30 A 192.0.2.66\nsend\n"
			cmd := exec.CommandContext(testCtx(t), bin)
			cmd.Stdin = strings.NewReader(script)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("%s without a key succeeded:\n%s", tool, out)
			}
		}
		if got := lookup(t, srv, "sneaky.example.test.", dns.TypeA); len(got) != 0 {
			t.Errorf("sneaky A = %v after unsigned updates, want nothing", got)
		}
		if got := lookup(t, srv, "counter.example.test.", dns.TypeA); len(got) != 0 {
			t.Errorf("counter A = %v after an unsigned Apply, want nothing", got)
		}
	})
}

// racer changes the zone, as another writer would, between Publish's read
// and its update, the first `times` times.
type racer struct {
	*Server
	t       *testing.T
	srv     *dnstest.Server
	times   int
	applies int
}

func (r *racer) Apply(ctx context.Context, z Zone, p Plan) error {
	r.applies++
	if r.applies <= r.times {
		// A fresh name each time: re-adding a record the zone has changes nothing.
		rr, err := dns.NewRR(fmt.Sprintf("other-%s.example.test. 60 IN A 192.0.2.%d", testutil.RandHex(r.t, 4), 200+r.applies%50))
		if err != nil {
			return err
		}
		r.srv.Update(r.t, func(m *dns.Msg) { m.Insert([]dns.RR{rr}) })
	}
	return r.Server.Apply(ctx, z, p)
}

func TestStaleSOARetried(t *testing.T) {
	forEachServer(t, "", func(t *testing.T, srv *dnstest.Server, s *Server, _ int) {
		inv := loadInventory(t)
		d := want(t, inv, allHealthy(inv))

		// The update itself is refused when the SOA it was read with is gone.
		z, err := s.Read(testCtx(t), d.Zone)
		if err != nil {
			t.Fatal(err)
		}
		r := &racer{Server: s, t: t, srv: srv, times: 1}
		if err := r.Apply(testCtx(t), z, Diff(z, d)); !errors.Is(err, ErrPrerequisite) {
			t.Fatalf("Apply after a concurrent change = %v, want ErrPrerequisite", err)
		}

		// Publish reads again and gets there.
		r = &racer{Server: s, t: t, srv: srv, times: 2}
		if _, err := Publish(testCtx(t), r, d, nil); err != nil {
			t.Fatalf("Publish with 2 concurrent changes = %v, want success on the third try", err)
		}
		if r.applies != 3 {
			t.Errorf("Publish sent %d updates, want 3 (two refused, one accepted)", r.applies)
		}
		if got := lookup(t, srv, "master.counter.example.test.", dns.TypeA); !slices.Equal(got, []string{"A 192.0.2.10"}) {
			t.Errorf("master A = %v after the retried publish", got)
		}
		z, err = s.Read(testCtx(t), d.Zone)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(slices.DeleteFunc(z.Records, func(r RR) bool { return !strings.HasPrefix(r.Name, "other-") })); n != 3 {
			t.Errorf("the zone holds %d of the other writer's 3 records, want all kept", n)
		}

		// A zone that never stops changing ends in a bounded error.
		d.Sets["master.counter.example.test."][0].Data = "192.0.2.11"
		r = &racer{Server: s, t: t, srv: srv, times: 100}
		if _, err := Publish(testCtx(t), r, d, nil); !errors.Is(err, ErrPrerequisite) || r.applies != Attempts {
			t.Errorf("Publish on an ever-changing zone = %v after %d updates; want ErrPrerequisite after %d", err, r.applies, Attempts)
		}
	})
}

func TestCNAMEToA(t *testing.T) {
	forEachServer(t, "", func(t *testing.T, srv *dnstest.Server, s *Server, _ int) {
		inv := loadInventory(t)
		inv.Nodes[2].Address = "na.example.org" // na, known by a host name first
		if _, err := Publish(testCtx(t), s, want(t, inv, allHealthy(inv)), nil); err != nil {
			t.Fatal(err)
		}
		if got := lookup(t, srv, "na.nodes.example.test.", dns.TypeCNAME); !slices.Equal(got, []string{"CNAME na.example.org."}) {
			t.Fatalf("na.nodes CNAME = %v, want na.example.org.", got)
		}
		inv.Nodes[2].Address = "192.0.2.20"
		if _, err := Publish(testCtx(t), s, want(t, inv, allHealthy(inv)), nil); err != nil {
			t.Fatalf("Publish(CNAME -> A) = %v", err)
		}
		if got := lookup(t, srv, "na.nodes.example.test.", dns.TypeA); !slices.Equal(got, []string{"A 192.0.2.20"}) {
			t.Errorf("na.nodes = %v, want only A 192.0.2.20", got)
		}
		p, err := Publish(testCtx(t), s, want(t, inv, allHealthy(inv)), nil)
		if err != nil || !p.Empty() {
			t.Errorf("Publish again = %d changes, %v; want none", len(p.Changes), err)
		}
		// And back: the A goes, the CNAME comes.
		inv.Nodes[2].Address = "na2.example.org"
		if _, err := Publish(testCtx(t), s, want(t, inv, allHealthy(inv)), nil); err != nil {
			t.Fatalf("Publish(A -> CNAME) = %v", err)
		}
		if got := lookup(t, srv, "na.nodes.example.test.", dns.TypeCNAME); !slices.Equal(got, []string{"CNAME na2.example.org."}) {
			t.Errorf("na.nodes = %v, want CNAME na2.example.org.", got)
		}
	})
}

// Foreign records are left alone: a name held by someone else, another
// cluster's ownership record, and other records at an owned name.
func TestForeignRecordsLeftAlone(t *testing.T) {
	const records = `eu.counter A 203.0.113.5
_counterctl.na.counter TXT "heritage=counterctl,cluster=another"
na.counter A 203.0.113.6
`
	forEachServer(t, records, func(t *testing.T, srv *dnstest.Server, s *Server, _ int) {
		inv := loadInventory(t)
		d := want(t, inv, allHealthy(inv))
		p, err := Publish(testCtx(t), s, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Foreign, []string{"eu.counter.example.test.", "na.counter.example.test."}) {
			t.Errorf("Foreign = %v, want eu and na (someone else's)", p.Foreign)
		}
		for name, w := range map[string]string{"eu.counter.example.test.": "A 203.0.113.5", "na.counter.example.test.": "A 203.0.113.6"} {
			if got := lookup(t, srv, name, dns.TypeA); !slices.Equal(got, []string{w}) {
				t.Errorf("%s = %v, want the foreign %s untouched", name, got, w)
			}
		}
		// Someone adds a record of their own at a name counterctl owns, and
		// the live master moves: only counterctl's records change.
		mx, _ := dns.NewRR(`master.counter.example.test. 60 IN TXT "ops: ask bob"`)
		srv.Update(t, func(m *dns.Msg) { m.Insert([]dns.RR{mx}) })
		obs := allHealthy(inv)
		obs.Master = "mirror"
		if _, err := Publish(testCtx(t), s, want(t, inv, obs), nil); err != nil {
			t.Fatal(err)
		}
		if got := lookup(t, srv, "master.counter.example.test.", dns.TypeA); !slices.Equal(got, []string{"A 192.0.2.11"}) {
			t.Errorf("master A = %v, want the new master 192.0.2.11", got)
		}
		if got := lookup(t, srv, "master.counter.example.test.", dns.TypeTXT); len(got) != 1 {
			t.Errorf("master TXT = %v, want the foreign TXT kept", got)
		}
	})
}

// A server that accepts the connection and never answers costs the
// timeout, not the run: every exchange has a deadline.
func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // kept open, unread, until the listener closes
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	s := &Server{Addr: ln.Addr().String(), Key: Key{Name: "k.", Algorithm: "hmac-sha256", Secret: "c2VjcmV0"}, Timeout: 200 * time.Millisecond}
	done := make(chan error, 2)
	go func() {
		_, err := s.Read(context.Background(), "example.test.")
		done <- err
	}()
	go func() {
		done <- s.Apply(context.Background(), Zone{Name: "example.test.", SOA: "example.test. 60 IN SOA ns. h. 1 2 3 4 5"}, Plan{})
	}()
	for range 2 {
		select {
		case err := <-done:
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("exchange with a silent server = %v, want a timeout", err)
			}
		case <-time.After(20 * time.Second): // 100x the timeout: only a missing deadline gets here
			t.Fatal("exchange with a silent server did not end")
		}
	}
	// A cancelled context ends it too, before the timeout.
	s.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := s.Read(ctx, "example.test.")
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read with a cancelled context succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Read did not end when its context was cancelled")
	}
}
