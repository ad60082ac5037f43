//go:build !node

package ctl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"counter/ctl/lab"
	"counter/internal/netnsdir"
	"counter/internal/testutil"
	"counter/provisioning/health"
	"counter/provisioning/nagios"
)

// checkSecondaries (dns.secondary, lab up --dns-secondaries): every client
// asks the anycast address, which its nearest node answers (the routing
// the front door's first checks proved), and gets the zone at the
// primary's serial; a change made at the primary reaches every client's
// answer within frontDoorBound, which only the primary's signed NOTIFY
// does (the nodes would otherwise ask within 60 s); and `counterctl
// health` grades every node's copy OK.
func (f *frontDoor) checkSecondaries(t *testing.T) {
	if !f.inv.DNS.Secondary {
		t.Fatal("the lab's inventory has no dns.secondary: TestClusterLab boots it with --dns-secondaries")
	}
	zone := f.inv.DNS.Zone
	server := net.JoinHostPort(f.anycast, "53")
	clients := f.st.Plan.OfKind(lab.KindClient)

	primary := func(ctx context.Context) (uint32, error) { return soaSerial(ctx, "", f.inv.DNS.Server, zone) }
	var ref uint32
	testutil.Poll(t, 30*time.Second, "the primary's SOA", func(ctx context.Context) (err error) {
		ref, err = primary(ctx)
		return err
	})
	for _, c := range clients {
		testutil.Poll(t, time.Minute, c.Name+": the anycast address serves "+zone+" at the primary's serial", func(ctx context.Context) error {
			got, err := soaSerial(ctx, c.Netns(), server, zone)
			if err == nil && int32(got-ref) < 0 {
				err = fmt.Errorf("serial %d, the primary's %d", got, ref)
			}
			return err
		})
	}

	// A record of the test's own, added at the primary with the key.
	secret, err := f.inv.TSIGSecret()
	if err != nil {
		t.Fatal(err)
	}
	name := "_e2e-secondary." + zone
	nonce := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	rr, err := dns.NewRR(fmt.Sprintf("%s 30 IN TXT %q", name, nonce))
	if err != nil {
		t.Fatal(err)
	}
	update := func(fill func(m *dns.Msg)) {
		t.Helper()
		m := new(dns.Msg)
		m.SetUpdate(zone)
		fill(m)
		m.SetTsig(f.inv.DNS.TSIG.Name, f.inv.DNS.TSIG.Algorithm+".", 300, time.Now().Unix())
		c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second, TsigSecret: map[string]string{f.inv.DNS.TSIG.Name: string(secret)}}
		r, _, err := c.Exchange(m, f.inv.DNS.Server)
		if err != nil || r.Rcode != dns.RcodeSuccess {
			t.Fatalf("update at the primary: %v, %v", r, err)
		}
	}
	t.Cleanup(func() { update(func(m *dns.Msg) { m.RemoveName([]dns.RR{rr}) }) })
	start := time.Now()
	update(func(m *dns.Msg) { m.Insert([]dns.RR{rr}) })
	var mu sync.Mutex
	took := map[string]time.Duration{}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			err := testutil.WaitEvery(time.Minute, 100*time.Millisecond, func(ctx context.Context) error {
				txt, err := lookupTXT(ctx, c.Netns(), server, name)
				if err == nil && !strings.Contains(txt, nonce) {
					err = fmt.Errorf("%s TXT = %q", name, txt)
				}
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("%s: the change made at the primary never reached its nearest node: %v", c.Name, err)
				return
			}
			took[c.Name] = time.Since(start)
		})
	}
	wg.Wait()
	t.Logf("a record added at the primary, as each client's anycast DNS answered it: %v", took)
	for c, d := range took {
		if d > frontDoorBound {
			t.Errorf("%s saw the change after %.1f s, want within %s (the primary NOTIFYs every node)", c, d.Seconds(), frontDoorBound)
		}
	}

	// Health's exit code says how the worst check went, whatever it was;
	// the dns results are what is asked here. Stdout holds the JSON only.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, _ := exec.CommandContext(ctx, f.e.bin, "health", "-i", f.e.inv, "--output", "json").Output()
	var rep health.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("counterctl health --output json: %v\n%s", err, out)
	}
	seen := 0
	for _, r := range rep.Results {
		if r.Check != health.CheckDNS {
			continue
		}
		seen++
		if r.State != nagios.OK {
			t.Errorf("health: %s dns %s: %s", r.Node, r.State, r.Message)
		} else {
			t.Logf("health: %s dns OK: %s", r.Node, r.Message)
		}
	}
	if seen != len(f.inv.Nodes) {
		t.Errorf("health reported the dns check on %d nodes, want %d:\n%s", seen, len(f.inv.Nodes), out)
	}
}

// soaSerial asks server for zone's SOA from network namespace ns ("" for
// the host's) over UDP, as a resolver would first.
func soaSerial(ctx context.Context, ns, server, zone string) (uint32, error) {
	r, err := ask(ctx, ns, server, zone, dns.TypeSOA)
	if err != nil {
		return 0, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("SOA %s at %s: %s, no SOA", zone, server, dns.RcodeToString[r.Rcode])
}

// lookupTXT is name's TXT strings, joined, as server answers from ns.
func lookupTXT(ctx context.Context, ns, server, name string) (string, error) {
	r, err := ask(ctx, ns, server, name, dns.TypeTXT)
	if err != nil {
		return "", err
	}
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, txt.Txt...)
		}
	}
	return strings.Join(out, " "), nil
}

func ask(ctx context.Context, ns, server, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = false
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	var r *dns.Msg
	exchange := func() (err error) {
		r, _, err = c.ExchangeContext(ctx, m, server)
		return err
	}
	var err error
	if ns == "" {
		err = exchange()
	} else {
		// The socket stays in the namespace it was made in.
		err = netnsdir.In(ns, exchange)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s at %s from %s: %w", name, dns.TypeToString[qtype], server, ns, err)
	}
	return r, nil
}
