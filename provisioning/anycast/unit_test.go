package anycast

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"counter/internal/testutil"
)

func goodUnitParams() UnitParams {
	return UnitParams{
		Address: netip.MustParseAddr("10.213.250.1"), Readyz: "http://127.0.0.1/readyz",
		Peers:  []string{"http://10.213.2.2:80/readyz", "http://10.213.3.2:80/readyz"},
		Counts: Counts{Rise: 3, Fall: 3}, Interval: time.Second,
	}
}

func TestServiceUnitGolden(t *testing.T) {
	u, err := ServiceUnit(goodUnitParams())
	if err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, "testdata/counter-anycast.service.golden", u)
}

func TestServiceUnitRefuses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *UnitParams)
		want   string
	}{
		{"a space in a peer", func(p *UnitParams) { p.Peers = []string{"http://a/ --fall 100"} }, "ExecStart"},
		{"a specifier", func(p *UnitParams) { p.Readyz = "http://%H/readyz" }, "ExecStart"},
		{"not a URL", func(p *UnitParams) { p.Peers = []string{"10.0.0.1"} }, "not an http(s) URL"},
		{"IPv6 anycast", func(p *UnitParams) { p.Address = netip.MustParseAddr("2001:db8::1") }, "not IPv4"},
		{"fall 0", func(p *UnitParams) { p.Counts.Fall = 0 }, "fall 0"},
		{"no interval", func(p *UnitParams) { p.Interval = 0 }, "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goodUnitParams()
			tt.mutate(&p)
			if _, err := ServiceUnit(p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ServiceUnit = %v, want an error about %q", err, tt.want)
			}
		})
	}
}
