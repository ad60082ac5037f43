package lab_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"counter/ctl/lab"
)

// testDNSUpdates sends RFC 2136 updates from the host: signed with the lab's
// TSIG key it must land, unsigned it must be refused and not land.
func testDNSUpdates(t *testing.T, st *lab.State, stateDir string) {
	secret, err := os.ReadFile(filepath.Join(stateDir, "secrets", "tsig.key"))
	if err != nil {
		t.Fatal(err)
	}
	server := net.JoinHostPort(st.Plan.OfKind(lab.KindDNS)[0].Address.String(), "53")
	keyName := dns.Fqdn(st.TSIG.Name)
	update := func(name string, signed bool) (*dns.Msg, error) {
		rr, err := dns.NewRR(name + " 60 IN A 192.0.2.77")
		if err != nil {
			t.Fatal(err)
		}
		m := new(dns.Msg).SetUpdate(st.Zone)
		m.Insert([]dns.RR{rr})
		cl := &dns.Client{Timeout: 5 * time.Second}
		if signed {
			m.SetTsig(keyName, dns.HmacSHA256, 300, time.Now().Unix())
			cl.TsigSecret = map[string]string{keyName: strings.TrimSpace(string(secret))}
		}
		r, _, err := cl.Exchange(m, server)
		return r, err
	}
	lookup := func(name string) int {
		r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), server)
		if err != nil {
			t.Fatalf("query %s: %v", name, err)
		}
		return len(r.Answer)
	}
	signed, unsigned := "e2e-signed."+st.Zone, "e2e-unsigned."+st.Zone
	r, err := update(signed, true)
	if err != nil || r.Rcode != dns.RcodeSuccess {
		t.Errorf("signed update: %v, rcode %v; want NOERROR", err, rcode(r))
	}
	if lookup(signed) != 1 {
		t.Errorf("%s has no A record after a signed update", signed)
	}
	r, err = update(unsigned, false)
	if err != nil || r.Rcode != dns.RcodeNotAuth {
		t.Errorf("unsigned update: %v, rcode %v; want NOTAUTH (Knot's answer)", err, rcode(r))
	}
	if lookup(unsigned) != 0 {
		t.Errorf("%s exists after an unsigned update", unsigned)
	}
}

func rcode(r *dns.Msg) string {
	if r == nil {
		return "none"
	}
	return dns.RcodeToString[r.Rcode]
}

type rttCase struct {
	from, to lab.Member
	want     time.Duration
}

// testRTTs pings, all at once, one node pair per continent pair, each client
// to its continent's node, and master to mirror (same data centre).
func testRTTs(t *testing.T, c *labCLI, st *lab.State) {
	f, err := os.Open("wan-rtt.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rtt, err := lab.ParseRTT(f)
	if err != nil {
		t.Fatal(err)
	}
	byContinent := map[string]lab.Member{}
	for _, m := range st.Plan.OfKind(lab.KindNode) {
		if _, ok := byContinent[m.Continent]; !ok {
			byContinent[m.Continent] = m
		}
	}
	continents := rtt.Continents()
	var cases []rttCase
	for i, a := range continents {
		for _, b := range continents[i+1:] {
			na, okA := byContinent[a]
			nb, okB := byContinent[b]
			if okA && okB {
				cases = append(cases, rttCase{na, nb, rtt.PairRTT(na, nb)})
			}
		}
	}
	for _, cl := range st.Plan.OfKind(lab.KindClient) {
		if n, ok := byContinent[cl.Continent]; ok {
			cases = append(cases, rttCase{cl, n, rtt.PairRTT(cl, n)})
		}
	}
	master, _ := st.Plan.Member("master")
	if mirror, ok := st.Plan.Member("mirror"); ok {
		cases = append(cases, rttCase{master, mirror, rtt.PairRTT(master, mirror)})
	}
	if len(cases) < 15+6 {
		t.Fatalf("only %d ping cases; the default lab has 15 continent pairs and 6 clients", len(cases))
	}
	got := make([]time.Duration, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, k := range cases {
		wg.Go(func() { got[i], errs[i] = ping(c, k.from.Name, k.to.Address.String()) })
	}
	wg.Wait()
	var table strings.Builder
	fmt.Fprintf(&table, "%-16s %-10s %9s %9s\n", "from", "to", "want_ms", "got_ms")
	for i, k := range cases {
		fmt.Fprintf(&table, "%-16s %-10s %9.1f %9.1f\n", k.from.Name, k.to.Name, ms(k.want), ms(got[i]))
		if errs[i] != nil {
			t.Errorf("ping %s -> %s: %v", k.from.Name, k.to.Name, errs[i])
			continue
		}
		tol := max(k.want/10, 5*time.Millisecond)
		if d := got[i] - k.want; d > tol || d < -tol {
			t.Errorf("RTT %s -> %s = %v, want %v ± %v", k.from.Name, k.to.Name, got[i], k.want, tol)
		}
	}
	t.Logf("RTTs:\n%s", table.String())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// checkNothingLeft looks for anything of the lab after `lab down`.
func checkNothingLeft(t *testing.T, st *lab.State, stateDir, forwardWas string) {
	// By the lab's own names only: other tests on this host may use the prefix too.
	netns := []string{"ctr-wan"}
	links := []string{"ctr0", "ctrh", "ctrtun"}
	for _, m := range st.Plan.Members {
		netns = append(netns, m.Netns())
		links = append(links, m.RouterIf())
	}
	for _, n := range netns {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("network namespace left after down: %s", n)
		}
	}
	for _, l := range links {
		if _, err := net.InterfaceByName(l); err == nil {
			t.Errorf("host interface left after down: %s", l)
		}
	}
	out, err := exec.Command("nft", "list", "tables").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "ctr_lab") {
		t.Errorf("nftables table left after down:\n%s", out)
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), stateDir) {
		t.Errorf("mount under %s left after down", stateDir)
	}
	procs := []lab.Proc{st.Router}
	for _, p := range st.Containers {
		procs = append(procs, p)
	}
	for _, p := range procs {
		if p.Alive() {
			t.Errorf("lab process %d still runs after down", p.PID)
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), stateDir) {
			t.Errorf("process %s still refers to the lab: %q", e.Name(), strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	if fw, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(fw)) != forwardWas {
		t.Errorf("ip_forward = %s after down, was %s before up", fw, forwardWas)
	}
	if left, _ := os.ReadDir(stateDir); len(left) > 0 {
		t.Errorf("state dir %s not emptied (the lock too): %v", stateDir, left)
	}
}
