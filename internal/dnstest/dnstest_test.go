package dnstest

import (
	"context"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestServersServeTheZone(t *testing.T) {
	for name, start := range map[string]func(testing.TB, string, string) *Server{"knot": StartKnot, "bind": StartBind} {
		t.Run(name, func(t *testing.T) {
			s := start(t, "example.test.", "www A 192.0.2.1\n")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			rrs, err := s.Lookup(ctx, "www.example.test.", dns.TypeA)
			if err != nil || len(rrs) != 1 || rrs[0].(*dns.A).A.String() != "192.0.2.1" {
				t.Fatalf("Lookup(www A) = %v, %v; want 192.0.2.1", rrs, err)
			}
		})
	}
}
