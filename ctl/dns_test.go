//go:build !node

package ctl

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"counter/internal/dnstest"
	"counter/internal/testutil"
	"counter/provisioning/dnsupdate"
	"counter/provisioning/inventory"
)

// dnsInventory writes an inventory whose dns: section points at srv, the
// lab's seven nodes, and the TSIG secret in a file beside it.
func dnsInventory(t *testing.T, srv *dnstest.Server) string {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteFile(t, filepath.Join(dir, "tsig.key"), []byte(srv.Secret+"\n"), 0o600)
	inv := `cluster: lab
dns:
  zone: ` + srv.Zone + `
  server: ` + srv.Addr + `
  tsig: {name: ` + srv.KeyName + `, algorithm: hmac-sha256, secret_file: tsig.key}
ssh: {known_hosts: /dev/null}
admin_networks: [10.213.0.0/16]
secrets:
  redis_counterd_password: {env: UNUSED}
  redis_replication_password: {env: UNUSED}
  redis_sentinel_password: {env: UNUSED}
  sentinel_peer_password: {env: UNUSED}
  sentinel_counterctl_password: {env: UNUSED}
nodes:
  - {name: master, address: 10.213.1.2, continent: eu, datacenter: eu1, role: master}
  - {name: mirror, address: 10.213.1.3, continent: eu, datacenter: eu1, role: mirror}
  - {name: na, address: 10.213.3.2, continent: na, role: replica}
  - {name: sa, address: 10.213.4.2, continent: sa, role: replica}
  - {name: asia, address: 10.213.5.2, continent: asia, role: replica}
  - {name: africa, address: 10.213.6.2, continent: africa, role: replica}
  - {name: oceania, address: 10.213.7.2, continent: oceania, role: replica}
`
	p := filepath.Join(dir, "inventory.yaml")
	testutil.WriteFile(t, p, []byte(inv), 0o644)
	return p
}

// observed is a fixed observation: africa's counterd not ready, sa down.
func observed(ctx context.Context, inv *inventory.Inventory) (dnsupdate.Observation, error) {
	o := dnsupdate.Observation{Healthy: map[string]bool{}, Master: "master"}
	for _, n := range inv.Nodes {
		o.Healthy[n.Name] = n.Name != "africa" && n.Name != "sa"
	}
	return o, nil
}

func runDNS(t *testing.T, observe observeFunc, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newDNSCmdWith(observe)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestDNSPlanThenPublish(t *testing.T) {
	srv := dnstest.StartKnot(t, "lab.counter.test.", "")
	inv := dnsInventory(t, srv)
	before, err := srv.SOA(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	out, err := runDNS(t, observed, "plan", "-i", inv)
	if err != nil {
		t.Fatalf("dns plan: %v", err)
	}
	testutil.Golden(t, filepath.Join("testdata", "dns-plan.golden"), []byte(out))
	if after, err := srv.SOA(context.Background()); err != nil || after.Serial != before.Serial {
		t.Fatalf("plan changed the zone: serial %d -> %v (%v)", before.Serial, after, err)
	}

	out, err = runDNS(t, observed, "publish", "-i", inv)
	if err != nil {
		t.Fatalf("dns publish: %v", err)
	}
	if !strings.Contains(out, "+ counter.lab.counter.test. 30 IN A 10.213.5.2") {
		t.Errorf("publish output lacks the service record:\n%s", out)
	}
	for _, cmd := range []string{"publish", "plan"} {
		out, err = runDNS(t, observed, cmd, "-i", inv)
		if err != nil || !strings.HasSuffix(out, "no change\n") {
			t.Errorf("dns %s after publish = %v:\n%s\nwant no change", cmd, err, out)
		}
	}
}

func TestDNSPublishRefusesEmptyService(t *testing.T) {
	srv := dnstest.StartKnot(t, "lab.counter.test.", "")
	inv := dnsInventory(t, srv)
	none := func(context.Context, *inventory.Inventory) (dnsupdate.Observation, error) {
		return dnsupdate.Observation{Master: "master"}, nil
	}
	_, err := runDNS(t, none, "publish", "-i", inv)
	if !errors.Is(err, dnsupdate.ErrEmptyService) {
		t.Fatalf("publish with no node healthy = %v, want ErrEmptyService", err)
	}
	if soa, err := srv.SOA(context.Background()); err != nil || soa.Serial != 1 {
		t.Errorf("zone serial = %v, %v; want 1 (untouched)", soa, err)
	}
}

func TestDNSBadSecret(t *testing.T) {
	srv := dnstest.StartKnot(t, "lab.counter.test.", "")
	inv := dnsInventory(t, srv)
	// A wrong key: the server refuses the transfer, and plan says so.
	testutil.WriteFile(t, filepath.Join(filepath.Dir(inv), "tsig.key"), []byte("c2VjcmV0IGJ1dCB3cm9uZw==\n"), 0o600)
	if _, err := runDNS(t, observed, "plan", "-i", inv); err == nil || !strings.Contains(err.Error(), "axfr") {
		t.Errorf("plan with a wrong TSIG secret = %v, want the AXFR refused", err)
	}
	os.Remove(filepath.Join(filepath.Dir(inv), "tsig.key"))
	if _, err := runDNS(t, observed, "plan", "-i", inv); err == nil || !strings.Contains(err.Error(), "dns.tsig secret") {
		t.Errorf("plan without the secret file = %v, want it named", err)
	}
}
