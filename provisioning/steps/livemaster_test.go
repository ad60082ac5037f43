package steps

import (
	"slices"
	"strings"
	"testing"

	"counter/provisioning/redisconf"
)

// TestProvisionAfterSwitchover is a provision run after the mirror became
// master (by hand or by a failover): the mirror stays master, the old
// master and the replica follow it in their files too, counterd writes to
// it, and no Redis restarts, since each already runs as its file now says.
func TestProvisionAfterSwitchover(t *testing.T) {
	hosts := newHosts()
	c := newCluster(t, hosts)
	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatalf("first run: %v", rep.Err())
	}
	// REPLICAOF NO ONE on the mirror, REPLICAOF mirror on the others.
	hosts["mirror"].st.role = "master"
	hosts["master"].st.role = "slave"
	for _, h := range []string{"master", "na"} {
		hosts[h].st.masterHost = "198.51.100.11"
	}
	for _, h := range hosts {
		h.st.restarts = nil
	}
	c.Master = "mirror" // as livemaster.Decide finds it

	if rep := provision(c, hosts, false); rep.Err() != nil {
		t.Fatalf("run after the switchover: %v", rep.Err())
	}
	for name, h := range hosts {
		if slices.Contains(h.st.restarts, redisUnit) {
			t.Errorf("%s: redis restarted after the switchover (restarts %v), want none", name, h.st.restarts)
		}
	}
	conf := func(h string) string { return string(hosts[h].st.files[redisconf.ConfigPath].content) }
	if strings.Contains(conf("mirror"), "\nreplicaof ") {
		t.Errorf("mirror's redis.conf still has replicaof: the live master must have none")
	}
	for _, h := range []string{"master", "na"} {
		if !strings.Contains(conf(h), "\nreplicaof 198.51.100.11 6380\n") {
			t.Errorf("%s's redis.conf does not follow the mirror (replicaof 198.51.100.11 6380)", h)
		}
		if y := string(hosts[h].st.files[CounterdConfig].content); !strings.Contains(y, "198.51.100.11") {
			t.Errorf("%s's counterd.yaml does not write to the mirror:\n%s", h, y)
		}
	}

	// The next run finds everything as wanted.
	rep := provision(c, hosts, false)
	if rep.Err() != nil || rep.Changed() {
		var b strings.Builder
		_ = rep.WriteChanges(&b)
		t.Fatalf("second run after the switchover: changed=%v err=%v\n%s", rep.Changed(), rep.Err(), b.String())
	}
}

func TestSameButReplicaof(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b string
		want bool
	}{
		{"replicaof moved", "# x (mirror)\nport 0\nreplicaof 10.0.0.1 6379\n", "# x (master)\nport 0\n# This is the master: no replicaof.\n", true},
		{"another line moved too", "port 0\nreplicaof 10.0.0.1 6379\n", "port 6379\n", false},
		{"no old file", "", "port 0\n", false},
	} {
		var a []byte
		if tt.a != "" {
			a = []byte(tt.a)
		}
		if got := sameButReplicaof(a, []byte(tt.b)); got != tt.want {
			t.Errorf("%s: sameButReplicaof = %v, want %v", tt.name, got, tt.want)
		}
	}
}
