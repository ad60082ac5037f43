package secondary

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"counter/internal/dnstest"
	"counter/internal/testutil"
)

func nodeConfig() Config {
	return Config{
		Zone: "lab.counter.test.", Primary: netip.MustParseAddrPort("10.213.0.9:53"),
		KeyName: "counter-update.", Algorithm: "hmac-sha256", KeyFile: KeyPath, Syslog: true,
		Listen: []netip.AddrPort{netip.MustParseAddrPort("10.213.3.2:53"), netip.MustParseAddrPort("10.213.255.1:53")},
	}
}

// TestRenderNode: what provision writes on a node, and knotc accepts it.
func TestRenderNode(t *testing.T) {
	c := nodeConfig()
	b, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "knot.conf.golden"), b)
	if strings.Contains(string(b), "secret") {
		t.Error("knot.conf mentions a secret; it belongs in the key file only")
	}
	knotc, err := exec.LookPath("knotc")
	if err != nil {
		t.Skip("SKIPPING conf-check: knotc not installed (Debian package knot)")
	}
	// conf-check reads the included key file, so it must exist.
	dir := t.TempDir()
	c.KeyFile = filepath.Join(dir, "key.conf")
	k, err := Key(c, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, c.KeyFile, k, 0o600)
	if b, err = Render(c); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(dir, "knot.conf"), b, 0o600)
	if out, err := exec.Command(knotc, "-c", filepath.Join(dir, "knot.conf"), "conf-check").CombinedOutput(); err != nil {
		t.Fatalf("knotc conf-check: %v\n%s", err, out)
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"zone not fully qualified", func(c *Config) { c.Zone = "lab.counter.test" }},
		{"zone with a newline", func(c *Config) { c.Zone = "lab.\n  - domain: evil." }},
		{"key name with a quote", func(c *Config) { c.KeyName = `k".` }},
		{"unknown algorithm", func(c *Config) { c.Algorithm = "hmac-md5" }},
		{"no primary", func(c *Config) { c.Primary = netip.AddrPort{} }},
		{"no key file", func(c *Config) { c.KeyFile = "" }},
		{"no address", func(c *Config) { c.Listen = nil }},
		{"a wildcard", func(c *Config) { c.Listen = []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:53")} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := nodeConfig()
			tc.edit(&c)
			if b, err := Render(c); err == nil {
				t.Errorf("Render = nil error, want a refusal; rendered:\n%s", b)
			}
		})
	}
	if _, err := Key(nodeConfig(), "not base64!"); err == nil {
		t.Error("Key took a secret that is not base64")
	}
}

// TestSecondaryFollowsPrimary runs the rendered configuration in a real
// knotd beside a real primary: the zone arrives by a signed transfer, a
// signed NOTIFY brings a change at once, an unsigned one is refused, and
// the secondary takes no update itself.
func TestSecondaryFollowsPrimary(t *testing.T) {
	primary := dnstest.StartKnot(t, "lab.counter.test.", "www A 192.0.2.1\n")
	dir := t.TempDir()
	port := testutil.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := Config{
		Zone: primary.Zone, Primary: netip.MustParseAddrPort(primary.Addr),
		KeyName: primary.KeyName, Algorithm: dnstest.Algorithm, KeyFile: filepath.Join(dir, "key.conf"),
		Listen:  []netip.AddrPort{netip.MustParseAddrPort(addr)},
		Storage: dir, RunDir: dir,
	}
	k, err := Key(c, primary.Secret)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, c.KeyFile, k, 0o600)
	conf, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(dir, "knot.conf"), conf, 0o600)
	sec := dnstest.StartKnotConf(t, filepath.Join(dir, "knot.conf"), addr, primary)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if rr, err := sec.Lookup(ctx, "www."+primary.Zone, dns.TypeA); err != nil || len(rr) != 1 {
		t.Fatalf("secondary: www = %v, %v; want the primary's one A record", rr, err)
	}

	primary.Update(t, func(m *dns.Msg) {
		rr, _ := dns.NewRR("oceania." + primary.Zone + " 30 IN A 192.0.2.60")
		m.Insert([]dns.RR{rr})
	})
	// Unsigned: refused.
	if rcode := notify(t, sec, false); rcode != dns.RcodeNotAuth && rcode != dns.RcodeRefused {
		t.Errorf("unsigned NOTIFY answered %s, want NOTAUTH or REFUSED", dns.RcodeToString[rcode])
	}
	if rcode := notify(t, sec, true); rcode != dns.RcodeSuccess {
		t.Fatalf("signed NOTIFY answered %s, want NOERROR", dns.RcodeToString[rcode])
	}
	// The zone's SOA asks for a refresh every hour: only the NOTIFY brings
	// the change within the deadline.
	err = testutil.Wait(10*time.Second, func(ctx context.Context) error {
		rr, err := sec.Lookup(ctx, "oceania."+primary.Zone, dns.TypeA)
		if err == nil && len(rr) == 0 {
			return errNotYet
		}
		return err
	})
	if err != nil {
		t.Fatalf("secondary after a signed NOTIFY: oceania not served: %v", err)
	}

	u := new(dns.Msg)
	u.SetUpdate(sec.Zone)
	rr, _ := dns.NewRR("evil." + sec.Zone + " 30 IN A 192.0.2.66")
	u.Insert([]dns.RR{rr})
	u.SetTsig(sec.KeyName, dns.HmacSHA256, 300, time.Now().Unix())
	cl := &dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{sec.KeyName: sec.Secret}}
	// Knot answers NOTAUTH unsigned, which the client reports as an error
	// beside the answer: the answer is what counts.
	if r, _, err := cl.ExchangeContext(ctx, u, sec.Addr); r == nil || r.Rcode == dns.RcodeSuccess {
		t.Errorf("a signed update sent to the secondary: %v, %v; want a refusal (updates go to the primary)", r, err)
	}
}

var errNotYet = errors.New("not there yet")

// notify sends the zone's NOTIFY to s, signed with its key or not, and
// returns the answer's rcode.
func notify(t *testing.T, s *dnstest.Server, signed bool) int {
	t.Helper()
	m := new(dns.Msg)
	m.SetNotify(s.Zone)
	c := &dns.Client{Net: "udp", Timeout: 5 * time.Second}
	if signed {
		m.SetTsig(s.KeyName, dns.HmacSHA256, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{s.KeyName: s.Secret}
	}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("NOTIFY %s: %v", s.Zone, err)
	}
	return r.Rcode
}
