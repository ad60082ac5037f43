package steps

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"counter/provisioning/anycast"
	"counter/provisioning/firewall"
	"counter/provisioning/phase"
)

const anycastUnitPath = "/etc/systemd/system/" + anycast.ServiceUnitName

// TestAnycastOnBGPNodesOnly: the nodes with bgp: get bird2, a bird.conf
// peering with their routers, the announcer (guarded by the other BGP
// node) and BGP/BFD in their firewall; the node without gets none of it.
func TestAnycastOnBGPNodesOnly(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	rep := provision(c, hosts, false)
	if rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	na := hosts["na"].st
	if !na.packages["bird2"] {
		t.Error("na: bird2 not installed")
	}
	conf := string(na.files[anycast.BirdConfPath].content)
	for _, want := range []string{"router id 198.51.100.20;", "route 192.0.2.80/32 blackhole;", "local as 65020;", "neighbor 198.51.100.17 as 65000;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("na's bird.conf lacks %q:\n%s", want, conf)
		}
	}
	if m := na.files[anycast.BirdConfPath].mode; m != "640:bird:bird" {
		t.Errorf("na's bird.conf mode = %s, want 640:bird:bird", m)
	}
	unit := string(na.files[anycastUnitPath].content)
	for _, want := range []string{
		"ExecStartPre=+/bin/ip address replace 192.0.2.80/32 dev lo",
		"--peer http://198.51.100.10:80/readyz", // master announces too: the guard asks it
		"--rise 3 --fall 3 --interval 1s",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("na's announcer unit lacks %q:\n%s", want, unit)
		}
	}
	if strings.Contains(unit, "198.51.100.11") || strings.Contains(unit, "198.51.100.20:80") {
		t.Errorf("na's guard asks the mirror (no bgp) or itself:\n%s", unit)
	}
	for _, u := range []string{birdUnit, anycast.ServiceUnitName} {
		if s := na.units[u]; s == nil || !s[0] || !s[1] {
			t.Errorf("na: %s enabled/active = %v, want both", u, s)
		}
	}
	if fw := string(na.files[firewall.LivePath].content); !strings.Contains(fw, "set bgp_v4 {\n\t\ttype ipv4_addr\n\t\telements = { 198.51.100.17 }") {
		t.Errorf("na's firewall does not open BGP to its router only:\n%s", fw)
	}

	mirror := hosts["mirror"].st
	if mirror.packages["bird2"] || mirror.files[anycast.BirdConfPath].content != nil || mirror.units[anycast.ServiceUnitName] != nil {
		t.Error("the mirror (no bgp:) got BIRD or the announcer")
	}
	if fw := string(mirror.files[firewall.LivePath].content); strings.Contains(fw, "bgp_v4") {
		t.Errorf("the mirror's firewall opens BGP:\n%s", fw)
	}
	for _, h := range rep.Hosts {
		for _, s := range h.Steps {
			if s.Title == (Anycast{}).Title() {
				want := phase.Changed
				if h.Host == "mirror" {
					want = phase.Skipped
				}
				if s.Status != want {
					t.Errorf("%s: anycast step %v, want %v", h.Host, s.Status, want)
				}
			}
		}
	}
}

// TestAnycastBirdConfEdit: a hand-edited bird.conf is put back, checked
// with bird -p and loaded with a reload (BGP sessions stay), and the
// announcer is not restarted; a config BIRD refuses is not loaded.
func TestAnycastBirdConfEdit(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	na := hosts["na"].st
	edit := func() {
		f := na.files[anycast.BirdConfPath]
		f.content = []byte(strings.Replace(string(f.content), "as 65000", "as 65999", 1))
		na.files[anycast.BirdConfPath] = f
		na.restarts, na.execs = nil, nil
	}
	edit()
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if !slices.Contains(na.execs, "reload bird (birdc configure)") {
		t.Errorf("after the edit: execs %v, want a bird reload", na.execs)
	}
	if len(na.restarts) != 0 {
		t.Errorf("after a bird.conf edit: restarts %v, want none", na.restarts)
	}
	if !strings.Contains(string(na.files[anycast.BirdConfPath].content), "as 65000") {
		t.Error("the edit was not put back")
	}

	edit()
	na.fail["bird"] = errors.New("exit status 1: syntax error")
	rep := provision(c, hosts, false)
	var se *phase.StepError
	if !errors.As(rep.Err(), &se) || se.Host != "na" || se.Step != (Anycast{}).Title() || !strings.Contains(se.Error(), "bird refuses") {
		t.Fatalf("err = %v, want the anycast step on na to say bird refuses", rep.Err())
	}
	if slices.Contains(na.execs, "reload bird (birdc configure)") {
		t.Error("a config bird refuses was loaded")
	}
}
