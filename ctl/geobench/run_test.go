package geobench

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// TestServesNames: names resolve by name only when every continent's name
// gives its own node, asked over the dialer for that continent's site.
func TestServesNames(t *testing.T) {
	g := labGeometry(t)
	for i := range g.Sites {
		g.Sites[i].Node.Address = netip.AddrFrom4([4]byte{10, 213, byte(i + 1), 2})
	}
	answers := map[string]string{}
	for _, s := range g.Sites {
		answers[s.Continent+".counter.lab.counter.test."] = s.Node.Address.String()
	}
	server := startDNS(t, answers)
	var mu sync.Mutex
	dialed := map[string]bool{}
	dial := func(ctx context.Context, s Site, network string) (net.Conn, error) {
		mu.Lock()
		dialed[s.Client.Name] = true
		mu.Unlock()
		return fromHost(server)(ctx, s, network)
	}
	if !servesNames(t.Context(), g.Sites, "counter", "lab.counter.test.", dial) {
		t.Fatal("servesNames = false, want true: every name gives its continent's node")
	}
	for _, s := range g.Sites {
		if !dialed[s.Client.Name] {
			t.Errorf("%s's name was not asked over its site's dialer", s.Continent)
		}
	}

	answers["oceania.counter.lab.counter.test."] = g.Sites[0].Node.Address.String()
	if servesNames(t.Context(), g.Sites, "counter", "lab.counter.test.", fromHost(startDNS(t, answers))) {
		t.Error("servesNames = true, want false: oceania's name gives eu's node")
	}
	if servesNames(t.Context(), g.Sites, "other", "lab.counter.test.", fromHost(server)) {
		t.Error("servesNames = true for names the server does not have")
	}
}

// startDNS serves A records on a loopback UDP port and returns host:port.
func startDNS(t *testing.T, a map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		if addr, ok := a[q.Name]; !ok {
			m.Rcode = dns.RcodeNameError
		} else if q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
				A: net.ParseIP(addr)})
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}
