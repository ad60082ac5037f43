package steps

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"counter/provisioning/dnswatch"
	"counter/provisioning/host"
	"counter/provisioning/inventory"
	"counter/provisioning/phase"
	"counter/provisioning/pki"
	"counter/provisioning/sshd"
)

const testInventory = `cluster: test
dns:
  zone: test.example.
  server: 192.0.2.53
  tsig: {name: k., algorithm: hmac-sha256, secret_env: CTR_STEPS_TSIG}
  secondary: true
ssh: {key_file: id, known_hosts: known_hosts}
admin_networks: [192.0.2.0/24]
secrets:
  redis_counterd_password: {env: CTR_STEPS_A}
  redis_replication_password: {env: CTR_STEPS_B}
  redis_sentinel_password: {env: CTR_STEPS_B_S1}
  sentinel_peer_password: {env: CTR_STEPS_B_S2}
  sentinel_counterctl_password: {env: CTR_STEPS_B_S3}
pki_dir: pki
raid: required
anycast: {address: 192.0.2.80}
nodes:
  - {name: master, address: 198.51.100.10, continent: eu, role: master,
     bgp: {asn: 65010, peers: [{address: 198.51.100.1, asn: 65000, bfd: true}]}}
  - {name: mirror, address: 198.51.100.11, continent: eu, role: mirror}
  - {name: na, address: 198.51.100.20, continent: na, role: replica,
     bgp: {asn: 65020, peers: [{address: 198.51.100.17, asn: 65000}]}}
`

type fakeDebs struct{}

func (fakeDebs) Package(_ context.Context, arch string) (Deb, error) {
	v := "1.0+sha256.0123456789ab"
	return Deb{Version: v, Arch: arch, FileName: "counter_" + v + "_" + arch + ".deb", Data: []byte("!<arch>\n")}, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// newCluster returns a Cluster over a real inventory file and a real CA;
// fresh connections after a firewall apply reach the same fake hosts.
func newCluster(t *testing.T, hosts map[string]*fakeHost) *Cluster {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(path, []byte(testInventory), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTR_STEPS_A", "counterd-password-0123456789")
	t.Setenv("CTR_STEPS_B", "replication-password-0123456789")
	inv, err := inventory.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	ca, _, err := pki.LoadOrCreateCA(filepath.Join(dir, "pki"), inv.Cluster, now)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := resolveForTest(inv)
	if err != nil {
		t.Fatal(err)
	}
	return &Cluster{
		Inv: inv, Addrs: addrs, CA: ca,
		CounterdPassword: "counterd-password-0123456789", ReplicationPassword: "replication-password-0123456789",
		SentinelPassword: "sentinel-password-0123456789", SentinelPeerPassword: "sentinel-peer-password-0123456789",
		SentinelAdminPassword: "sentinel-admin-password-0123456789",
		TSIGSecret:            "dHNpZy1zZWNyZXQtZm9yLXRlc3RzLW9ubHk=",
		RTT:                   []dnswatch.RTT{{A: "eu", B: "na", Ms: 80}},
		Packages:              fakeDebs{}, Now: func() time.Time { return now },
		LinkTimeout: 300 * time.Millisecond, PollEvery: 10 * time.Millisecond,
		Redial: func(_ context.Context, n inventory.Node) (host.Host, io.Closer, error) {
			return hosts[n.Name], nopCloser{}, nil
		},
	}
}

func newHosts() map[string]*fakeHost {
	return map[string]*fakeHost{"master": newFake("master", "master"), "mirror": newFake("mirror", "slave"), "na": newFake("na", "slave")}
}

// TestEachStep runs every step on its own against a node where the steps
// before it ran: a dry run describes changes and changes nothing, the
// first run changes the node, the second finds it as wanted.
func TestEachStep(t *testing.T) {
	for _, node := range []string{"master", "na"} {
		hosts := newHosts()
		c := newCluster(t, hosts)
		h := hosts[node]
		ctx := context.Background()
		for _, s := range All(c) {
			t.Run(node+"/"+s.Title(), func(t *testing.T) {
				before := h.st.snapshot()
				dry, err := dryRun(ctx, s, h)
				if err != nil {
					t.Fatalf("dry run: %v", err)
				}
				if after := h.st.snapshot(); after != before {
					t.Errorf("dry run changed the host:\n%s\nwas:\n%s", after, before)
				}
				first, err := s.Run(ctx, h)
				if err != nil {
					t.Fatalf("first run: %v", err)
				}
				want := phase.Changed
				if s.Title() == "replication" {
					want = phase.OK // it only waits
					if dry.Status != phase.Skipped {
						t.Errorf("dry run status = %v, want skipped", dry.Status)
					}
				} else if dry.Status != phase.Changed || len(dry.Changes) == 0 {
					t.Errorf("dry run = %v with %d changes, want changed with some", dry.Status, len(dry.Changes))
				}
				if first.Status != want {
					t.Errorf("first run = %v (%v), want %v", first.Status, first.Changes, want)
				}
				second, err := s.Run(ctx, h)
				if err != nil {
					t.Fatalf("second run: %v", err)
				}
				if second.Status != phase.OK {
					t.Errorf("second run = %v, want ok; changes: %v", second.Status, second.Changes)
				}
			})
		}
	}
}

func dryRun(ctx context.Context, s phase.Step, h *fakeHost) (phase.Result, error) {
	if d, ok := s.(phase.DryRunner); ok {
		return d.DryRun(ctx, h.Dry())
	}
	return s.Run(ctx, h.Dry())
}

// provision runs all steps on the hosts the way counterctl does: batched,
// master, mirror, then replicas.
func provision(c *Cluster, hosts map[string]*fakeHost, dry bool) *phase.Report {
	r := &phase.Runner{Steps: All(c), Parallel: 2, DryRun: dry}
	wave := func(names ...string) []host.Host {
		var out []host.Host
		for _, n := range names {
			out = append(out, NewBatched(hosts[n], Reads(), fakeWriter{hosts[n]}))
		}
		return out
	}
	return r.Run(context.Background(), wave("master"), wave("mirror"), wave("na"))
}

func TestSecondRunChangesNothingInOneRoundTrip(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil || !rep.Changed() {
		t.Fatalf("first run: changed=%v err=%v", rep.Changed(), rep.Err())
	}
	for _, h := range hosts {
		h.st.queries = 0
	}
	rep := provision(c, hosts, false)
	if rep.Err() != nil || rep.Changed() {
		var b strings.Builder
		_ = rep.WriteChanges(&b)
		t.Fatalf("second run: changed=%v err=%v\n%s", rep.Changed(), rep.Err(), b.String())
	}
	// The batch of reads, and the replication step's live look at Redis.
	for name, h := range hosts {
		if h.st.queries != 2 {
			t.Errorf("%s: second run ran %d commands, want 2: the batch and INFO replication", name, h.st.queries)
		}
	}
}

func TestDryRunShowsHandEdit(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	na := hosts["na"].st
	f := na.files[CounterdConfig]
	f.content = []byte(strings.Replace(string(f.content), `listen: ":443"`, `listen: ":8081"`, 1))
	na.files[CounterdConfig] = f
	na.restarts = nil
	before := na.snapshot()

	rep := provision(c, hosts, true)
	var b strings.Builder
	if err := rep.WriteChanges(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"na: counterd: update " + CounterdConfig, `-listen: ":8081"`, `+listen: ":443"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, b.String())
		}
	}
	if regexp.MustCompile(`(?m)^(master|mirror):`).MatchString(b.String()) {
		t.Errorf("dry run reports changes on the untouched master:\n%s", b.String())
	}
	if na.snapshot() != before {
		t.Error("dry run changed the node")
	}
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if want := []string{counterdUnit}; strings.Join(na.restarts, ",") != strings.Join(want, ",") {
		t.Errorf("restarts after the edit = %v, want %v", na.restarts, want)
	}
}

func TestFailureNamesStep(t *testing.T) {
	tests := []struct {
		name     string
		breakIt  func(c *Cluster, h *fakeHost)
		step     string
		contains string
	}{
		{"not debian 12", func(_ *Cluster, h *fakeHost) { h.st.osName = "ubuntu 24.04" }, "debian 12 and packages", `runs "ubuntu 24.04"; counterctl provisions Debian 12`},
		{"replica link down", func(_ *Cluster, h *fakeHost) { h.st.link = "down" }, "replication", "master_link_status:down"},
		{"new connection refused", func(c *Cluster, _ *fakeHost) {
			redial := c.Redial
			c.Redial = func(ctx context.Context, n inventory.Node) (host.Host, io.Closer, error) {
				if n.Name == "na" {
					return nil, nil, errors.New("connection refused")
				}
				return redial(ctx, n)
			}
		}, "firewall", "rolls back within 1m0s: connection refused"},
		{"sshd -t refuses", func(_ *Cluster, h *fakeHost) { h.st.fail["/usr/sbin/sshd"] = errors.New("exit status 255") }, "sshd", "so the new drop-in is removed"},
		{"apt fails", func(_ *Cluster, h *fakeHost) { h.st.fail["install counter"] = errors.New("dpkg exited 1") }, "counter package", "dpkg exited 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts := newHosts()
			c := newCluster(t, hosts)
			tt.breakIt(c, hosts["na"])
			rep := provision(c, hosts, false)
			var se *phase.StepError
			if !errors.As(rep.Err(), &se) {
				t.Fatalf("err = %v, want a StepError", rep.Err())
			}
			if se.Host != "na" || se.Step != tt.step || !strings.Contains(se.Error(), tt.contains) {
				t.Errorf("err = %v\nwant host na, step %q, containing %q", se, tt.step, tt.contains)
			}
			for _, h := range rep.Hosts[:2] {
				if h.Err != nil {
					t.Errorf("%s failed too: %v", h.Host, h.Err)
				}
			}
			if tt.step == "sshd" {
				if _, ok := hosts["na"].st.files[sshd.DropInPath]; ok {
					t.Error("the refused drop-in is still in place")
				}
			}
		})
	}
}

// TestDryRunRedactsReplicationPassword rotates the replication password: the
// dry run shows redis.conf's diff, but never the password in clear.
func TestDryRunRedactsReplicationPassword(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	c.ReplicationPassword = "rotated-replication-password-42"
	var b strings.Builder
	if err := provision(c, hosts, true).WriteChanges(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"master: redis: update /etc/redis/redis.conf", "+user replication reset on #"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{c.ReplicationPassword, "replication-password-0123456789"} {
		if strings.Contains(out, secret) {
			t.Errorf("dry run shows the password %q:\n%s", secret, out)
		}
	}
}
