package steps

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"counter/provisioning/dnswatch"
	"counter/provisioning/phase"
	"counter/provisioning/redisconf"
)

const dnsWatchUnitPath = "/etc/systemd/system/" + dnswatch.ServiceUnitName

// TestDNSWatchOnEveryNode: every node gets the watcher (any may be
// promoted), with the TSIG secret as a root-only file the unit hands over,
// a configuration naming itself, its own sentinel and every node, and the
// unit enabled and running; a second run changes nothing.
func TestDNSWatchOnEveryNode(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	addr := map[string]string{"master": "198.51.100.10", "mirror": "198.51.100.11", "na": "198.51.100.20"}
	for name, h := range hosts {
		st := h.st
		key := st.files[dnswatch.TSIGPath]
		if string(key.content) != c.TSIGSecret+"\n" || !strings.HasPrefix(key.mode, "600:") {
			t.Errorf("%s: %s = %q mode %s, want the secret, 0600", name, dnswatch.TSIGPath, key.content, key.mode)
		}
		var cfg dnswatch.Config
		if err := json.Unmarshal(st.files[dnswatch.ConfigPath].content, &cfg); err != nil {
			t.Fatalf("%s: %s: %v", name, dnswatch.ConfigPath, err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: config: %v", name, err)
		}
		if cfg.Self != name || cfg.Sentinel != addr[name]+":26379" || len(cfg.Nodes) != 3 || cfg.Server != "192.0.2.53:53" || cfg.Anycast != "192.0.2.80" {
			t.Errorf("%s: config self %q sentinel %q nodes %d server %q anycast %q", name, cfg.Self, cfg.Sentinel, len(cfg.Nodes), cfg.Server, cfg.Anycast)
		}
		if strings.Contains(string(st.files[dnswatch.ConfigPath].content), c.TSIGSecret) {
			t.Errorf("%s: the configuration carries the TSIG secret", name)
		}
		for _, n := range cfg.Nodes {
			if n.Readyz != "http://"+addr[n.Name]+":80/readyz" || n.Redis != addr[n.Name]+":6380" {
				t.Errorf("%s: node %s readyz %q redis %q", name, n.Name, n.Readyz, n.Redis)
			}
		}
		unit := string(st.files[dnsWatchUnitPath].content)
		for _, want := range []string{"LoadCredential=tsig:" + dnswatch.TSIGPath, "--tsig-file %d/tsig", "DynamicUser=yes", "--rise 3 --fall 2 --interval 1s"} {
			if !strings.Contains(unit, want) {
				t.Errorf("%s: unit lacks %q:\n%s", name, want, unit)
			}
		}
		if s := st.units[dnswatch.ServiceUnitName]; s == nil || !s[0] || !s[1] {
			t.Errorf("%s: %s enabled/active = %v, want both", name, dnswatch.ServiceUnitName, s)
		}
	}
	rep := provision(c, hosts, false)
	for _, h := range rep.Hosts {
		for _, s := range h.Steps {
			if s.Title == (DNSWatch{}).Title() && s.Status != phase.OK {
				t.Errorf("%s: second run: dns watcher %v, want ok", h.Host, s.Status)
			}
		}
	}
}

// TestDNSWatchNeedsTSIG: without the secret the step fails rather than
// install a watcher that cannot sign.
func TestDNSWatchNeedsTSIG(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	c.TSIGSecret = ""
	rep := provision(c, hosts, false)
	if rep.Err() == nil || !strings.Contains(rep.Err().Error(), "TSIG") {
		t.Errorf("provision without a TSIG secret: %v, want an error naming it", rep.Err())
	}
}

// TestDNSWatchRestartsOnNewCert: the unit gets the node's Redis TLS files
// through LoadCredential, a copy made at start; a renewed certificate must
// restart the watcher, on that node only.
func TestDNSWatchRestartsOnNewCert(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	certPath := redisconf.DebianPaths().TLSCertFile
	f := hosts["na"].st.files[certPath]
	f.content = []byte("not the certificate provision issued\n")
	hosts["na"].st.files[certPath] = f
	for _, h := range hosts {
		h.st.restarts = nil
	}
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	for name, h := range hosts {
		restarted := slices.Contains(h.st.restarts, dnswatch.ServiceUnitName)
		if restarted != (name == "na") {
			t.Errorf("%s: watcher restarted = %v (restarts %v), want %v", name, restarted, h.st.restarts, name == "na")
		}
	}
}
