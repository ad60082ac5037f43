// Package dnstest starts real authoritative DNS servers for tests: Debian's
// knotd and BIND's named, each on a loopback port, serving one small zone
// that takes updates and transfers only when signed with a fresh TSIG key.
// Each process is tracked by pid and stopped when the test ends.
package dnstest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"counter/internal/testutil"
)

// Server is one running DNS server.
type Server struct {
	Kind    string // knot or bind
	Addr    string // 127.0.0.1:port, UDP and TCP
	Zone    string // fully qualified
	KeyName string // TSIG key, hmac-sha256
	Secret  string // base64
	Pid     int
}

// Algorithm is the TSIG algorithm of every key dnstest makes.
const Algorithm = "hmac-sha256"

// baseZone holds the SOA, NS and the name server's address; records are added after.
func zoneFile(zone, records string) string {
	return fmt.Sprintf(`$ORIGIN %s
$TTL 300
@   SOA ns hostmaster 1 3600 600 86400 60
@   NS  ns
ns  A   127.0.0.1
%s`, zone, records)
}

func newServer(tb testing.TB, kind, zone string) (*Server, string) {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return &Server{
		Kind: kind, Zone: dns.Fqdn(zone), KeyName: "counter-test-" + testutil.RandHex(tb, 3) + ".",
		Secret: base64.StdEncoding.EncodeToString(b),
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(tb))),
	}, tb.TempDir()
}

// StartKnot runs knotd serving zone with records (zone-file lines relative
// to the zone), or skips tb when knotd is not installed.
func StartKnot(tb testing.TB, zone, records string) *Server {
	tb.Helper()
	bin := testutil.NeedTool(tb, "knotd", "knot")
	s, dir := newServer(tb, "knot", zone)
	_, port, _ := net.SplitHostPort(s.Addr)
	file := filepath.Join(dir, "zone.db")
	testutil.WriteFile(tb, file, []byte(zoneFile(s.Zone, records)), 0o644)
	conf := fmt.Sprintf(`server:
    rundir: %[1]s
    listen: 127.0.0.1@%[2]s
database:
    storage: %[1]s
log:
  - target: stderr
    any: info
key:
  - id: %[3]s
    algorithm: %[4]s
    secret: %[5]s
acl:
  - id: signed
    key: %[3]s
    action: [ update, transfer ]
template:
  - id: default
    storage: %[1]s
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: %[6]s
    file: %[7]s
    acl: signed
`, dir, port, s.KeyName, Algorithm, s.Secret, s.Zone, file)
	cf := filepath.Join(dir, "knot.conf")
	testutil.WriteFile(tb, cf, []byte(conf), 0o600)
	start(tb, s, dir, bin, "-c", cf)
	return s
}

// StartKnotConf runs knotd with the configuration file conf, written by
// the caller (a secondary of primary, say), answering on addr for
// primary's zone with primary's key. It returns once the zone is served:
// for a secondary, once the first transfer is done.
func StartKnotConf(tb testing.TB, conf, addr string, primary *Server) *Server {
	tb.Helper()
	bin := testutil.NeedTool(tb, "knotd", "knot")
	s := &Server{Kind: "knot", Addr: addr, Zone: primary.Zone, KeyName: primary.KeyName, Secret: primary.Secret}
	start(tb, s, filepath.Dir(conf), bin, "-c", conf)
	return s
}

// StartBind runs named serving zone with records, or skips tb when named
// (Debian's bind9) is not installed.
func StartBind(tb testing.TB, zone, records string) *Server {
	tb.Helper()
	bin := testutil.NeedTool(tb, "named", "bind9")
	s, dir := newServer(tb, "bind", zone)
	_, port, _ := net.SplitHostPort(s.Addr)
	file := filepath.Join(dir, "zone.db")
	testutil.WriteFile(tb, file, []byte(zoneFile(s.Zone, records)), 0o644)
	conf := fmt.Sprintf(`options {
    directory "%[1]s";
    pid-file "%[1]s/named.pid";
    session-keyfile "%[1]s/session.key";
    managed-keys-directory "%[1]s";
    listen-on port %[2]s { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
};
controls { };
key "%[3]s" { algorithm %[4]s; secret "%[5]s"; };
zone "%[6]s" {
    type primary;
    file "%[7]s";
    allow-update { key "%[3]s"; };
    allow-transfer { key "%[3]s"; };
};
`, dir, port, s.KeyName, Algorithm, s.Secret, s.Zone, file)
	cf := filepath.Join(dir, "named.conf")
	testutil.WriteFile(tb, cf, []byte(conf), 0o600)
	// -g: foreground, logs on stderr; no -u: root keeps access to the test's directory.
	start(tb, s, dir, bin, "-g", "-c", cf)
	return s
}

// start runs the server and waits until it answers the zone's SOA.
func start(tb testing.TB, s *Server, dir, bin string, args ...string) {
	tb.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a crashed test
	logPath := filepath.Join(dir, "server.log")
	out, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("dnstest: start %s: %v", bin, err)
	}
	s.Pid = cmd.Process.Pid
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if tb.Failed() {
			b, _ := os.ReadFile(logPath)
			tb.Logf("dnstest: %s (pid %d) log:\n%s", s.Kind, s.Pid, tail(string(b), 40))
		}
	})
	err = testutil.Wait(20*time.Second, func(ctx context.Context) error {
		select {
		case <-done:
			return testutil.Stop(errors.New("exited"))
		default:
		}
		_, err := s.SOA(ctx)
		return err
	})
	if err != nil {
		b, _ := os.ReadFile(logPath)
		tb.Fatalf("dnstest: %s pid %d does not serve %s at %s: %v\n%s", s.Kind, s.Pid, s.Zone, s.Addr, err, tail(string(b), 40))
	}
}

// SOA asks the server for the zone's SOA over TCP.
func (s *Server) SOA(ctx context.Context) (*dns.SOA, error) {
	m := new(dns.Msg)
	m.SetQuestion(s.Zone, dns.TypeSOA)
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return nil, fmt.Errorf("SOA %s: %s, %d answers", s.Zone, dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	soa, ok := r.Answer[0].(*dns.SOA)
	if !ok {
		return nil, fmt.Errorf("SOA %s: answer is %s", s.Zone, r.Answer[0])
	}
	return soa, nil
}

// Lookup asks the server for name and type (authoritative answer, no recursion).
func (s *Server) Lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	if err != nil {
		return nil, err
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return nil, fmt.Errorf("%s %s: %s", name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode])
	}
	return r.Answer, nil
}

// Update sends a TSIG-signed update built by fill, as another writer of the
// zone would; it fails tb unless the server accepts it.
func (s *Server) Update(tb testing.TB, fill func(m *dns.Msg)) {
	tb.Helper()
	m := new(dns.Msg)
	m.SetUpdate(s.Zone)
	fill(m)
	m.SetTsig(s.KeyName, dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second, TsigSecret: map[string]string{s.KeyName: s.Secret}}
	r, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		tb.Fatalf("dnstest: update %s: %v", s.Zone, err)
	}
	if r.Rcode != dns.RcodeSuccess {
		tb.Fatalf("dnstest: update %s: %s", s.Zone, dns.RcodeToString[r.Rcode])
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
