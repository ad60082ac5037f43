//go:build !node

package ctl_test

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"counter/provisioning/dnsupdate"
	"counter/provisioning/inventory"
)

// checkDNSPublish publishes the provisioned lab's names to its Knot server,
// reads them back with a TSIG-signed AXFR, and checks that a second publish
// changes nothing and an unsigned update is refused.
func checkDNSPublish(t *testing.T, e *e2e, inv *inventory.Inventory) {
	out, err := e.run(2*time.Minute, "dns", "publish", "-i", e.inv)
	t.Logf("counterctl dns publish:\n%s", out)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := inv.TSIGSecret()
	if err != nil {
		t.Fatal(err)
	}
	srv := &dnsupdate.Server{Addr: inv.DNS.Server, Timeout: 10 * time.Second,
		Key: dnsupdate.Key{Name: inv.DNS.TSIG.Name, Algorithm: inv.DNS.TSIG.Algorithm, Secret: string(secret)}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	z, err := srv.Read(ctx, inv.DNS.Zone)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range z.Records {
		got[r.Name] = append(got[r.Name], r.Type+" "+r.Data)
	}
	svc := inv.DNS.Service + "." + inv.DNS.Zone
	var all []string
	for _, n := range inv.Nodes {
		all = append(all, "A "+n.Address)
		if w := []string{"A " + n.Address}; !slices.Equal(got[n.Name+".nodes."+inv.DNS.Zone], w) {
			t.Errorf("%s.nodes = %v, want %v", n.Name, got[n.Name+".nodes."+inv.DNS.Zone], w)
		}
	}
	// The service name is the anycast address where the inventory has one
	// (the lab's has), else every ready node.
	want, what := all, "every node (all ready)"
	if a := inv.Anycast.Address; a.IsValid() {
		want, what = []string{"A " + a.String()}, "the anycast address"
	}
	slices.Sort(want)
	slices.Sort(got[svc])
	if !slices.Equal(got[svc], want) {
		t.Errorf("%s = %v, want %s: %v", svc, got[svc], what, want)
	}
	if w := []string{"A " + inv.Master().Address}; !slices.Equal(got["master."+svc], w) {
		t.Errorf("master.%s = %v, want %v", svc, got["master."+svc], w)
	}
	for _, c := range inventory.Continents() {
		if len(got[c+"."+svc]) == 0 {
			t.Errorf("%s.%s has no record", c, svc)
		}
	}

	out, err = e.run(2*time.Minute, "dns", "publish", "-i", e.inv)
	if err != nil || !strings.HasSuffix(out, "no change\n") {
		t.Errorf("second dns publish = %v:\n%s\nwant no change", err, out)
	}

	// The "an unsigned nsupdate is refused", with the tool an admin would use.
	bin, err := exec.LookPath("knsupdate")
	if err != nil {
		t.Skip("SKIPPED the unsigned update: knsupdate is missing (apt-get install knot-dnsutils)")
	}
	host, port, _ := net.SplitHostPort(inv.DNS.Server)
	cmd := exec.CommandContext(ctx, bin)
	cmd.Stdin = strings.NewReader("server " + host + " " + port + "\nzone " + inv.DNS.Zone +
		"\nupdate add " + svc + " 30 A 192.0.2.66\nsend\n")
	if b, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("unsigned knsupdate succeeded:\n%s", b)
	} else {
		t.Logf("unsigned knsupdate refused: %v: %s", err, strings.TrimSpace(string(b)))
	}
}
