package probe

import (
	"context"
	"fmt"

	"github.com/miekg/dns"
)

// ZoneSerial asks server (host:port) for zone's SOA over TCP and returns
// its serial: the primary's, or a node's secondary copy's. An answer
// without the SOA (SERVFAIL from a secondary that never got the zone,
// REFUSED from a server that does not serve it) is an error. It is
// bounded by HTTPTimeout, like every request of a probe.
func (p *Prober) ZoneSerial(ctx context.Context, server, zone string) Fact[uint32] {
	ctx, cancel := context.WithTimeout(ctx, p.opts.HTTPTimeout)
	defer cancel()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	m.RecursionDesired = false
	c := &dns.Client{Net: "tcp", Timeout: p.opts.HTTPTimeout}
	r, _, err := c.ExchangeContext(ctx, m, server)
	if err != nil {
		return Fact[uint32]{Err: fmt.Errorf("SOA of %s at %s: %w", zone, server, err)}
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok && r.Rcode == dns.RcodeSuccess {
			return Fact[uint32]{V: soa.Serial}
		}
	}
	return Fact[uint32]{Err: fmt.Errorf("SOA of %s at %s: %s, no SOA in the answer", zone, server, dns.RcodeToString[r.Rcode])}
}
