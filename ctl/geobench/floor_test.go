package geobench

import (
	"net/netip"
	"testing"
	"time"

	"counter/ctl/lab"
)

// labGeometry is the default lab's: master and mirror in eu, one replica
// per other continent, a client on every continent.
func labGeometry(t *testing.T) Geometry {
	t.Helper()
	rtt, err := lab.DefaultRTT()
	if err != nil {
		t.Fatal(err)
	}
	node := func(name, cont string) lab.Member {
		return lab.Member{Name: name, Kind: lab.KindNode, Continent: cont, Datacenter: cont, Address: netip.MustParseAddr("10.213.1.2")}
	}
	master := node("master", "eu")
	g := Geometry{RTT: rtt, Master: master}
	for _, c := range []string{"eu", "na", "sa", "asia", "africa", "oceania"} {
		n := master
		if c != "eu" {
			n = node(c, c)
		}
		g.Sites = append(g.Sites, Site{Continent: c, Client: lab.Member{Name: "client-" + c, Kind: lab.KindClient, Continent: c}, Node: n})
	}
	return g
}

func TestBounds(t *testing.T) {
	g := labGeometry(t)
	dns := lab.Member{Name: "dns", Kind: lab.KindDNS, Continent: "eu", Datacenter: "eu"}
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name      string
		site      int
		dns       *lab.Member
		nearest   bool
		fig       string
		floor, tg time.Duration
		why       string // "": not checked
	}{
		{"eu page: 3 local round trips", 0, nil, false, FigNewConn, ms(45), ms(75), ""},
		{"eu page by name: plus the local resolver", 0, &dns, false, FigNewConn, ms(60), ms(90), ""},
		{"oceania page by name: the resolver is in eu", 5, &dns, false, FigNewConn, ms(45 + 290), ms(300), "3 × 15 ms (TCP, TLS 1.3, GET) + 290 ms DNS"},
		{"oceania page by name: the nearest node answers", 5, nil, true, FigNewConn, ms(45 + 15), ms(90),
			"3 × 15 ms (TCP, TLS 1.3, GET) + 15 ms DNS (nearest node, anycast)"},
		{"resumed by name: no lookup", 5, nil, true, FigResumed, ms(45), ms(75), ""},
		{"warm: one local round trip", 3, nil, false, FigWarm, ms(15), ms(25), ""},
		{"resumed: still 3 round trips", 2, nil, false, FigResumed, ms(45), ms(75), ""},
		{"eu press: the master is the node", 0, nil, false, FigPress, ms(15), ms(45), ""},
		{"asia press: local + asia-eu", 3, nil, false, FigPress, ms(15 + 160), ms(205), ""},
		// eu → master → oceania's node (145 one way) → its page (7.5).
		{"eu propagation: to oceania", 0, nil, false, FigPropagate, ms(7.5 + 145 + 7.5), ms(260), ""},
		// oceania → eu 145, then eu → sa 100 + 7.5: sa is the farthest other.
		{"oceania propagation: to sa", 5, nil, false, FigPropagate, ms(7.5 + 145 + 107.5), ms(360), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g.DNS, g.NearestDNS = tt.dns, tt.nearest
			b, err := g.Bounds(g.Sites[tt.site])
			if err != nil {
				t.Fatal(err)
			}
			if got := b[tt.fig]; got.Floor != tt.floor || got.Target != tt.tg {
				t.Errorf("%s floor, target = %v, %v, want %v, %v (%s)", tt.fig, got.Floor, got.Target, tt.floor, tt.tg, got.Why)
			}
			if got := b[tt.fig].Why; tt.why != "" && got != tt.why {
				t.Errorf("%s floor from %q, want %q", tt.fig, got, tt.why)
			}
		})
	}
}
