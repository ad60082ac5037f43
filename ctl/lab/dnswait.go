package lab

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// waitDNS polls the server until it answers the zone's SOA authoritatively.
func waitDNS(ctx context.Context, server netip.AddrPort, zone string, within time.Duration) error {
	deadline := time.Now().Add(within)
	c := &dns.Client{Timeout: time.Second}
	q := new(dns.Msg).SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	var last error
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, _, err := c.ExchangeContext(ctx, q, server.String())
		if err == nil && r.Rcode == dns.RcodeSuccess && r.Authoritative && len(r.Answer) > 0 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("rcode %s, aa=%v", dns.RcodeToString[r.Rcode], r.Authoritative)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("dns server %s does not serve %s after %s: %w", server, zone, within, last)
}
