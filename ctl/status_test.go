//go:build !node

package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"counter/internal/redisinfo"
	"counter/internal/testutil"
	"counter/provisioning/inventory"
	"counter/provisioning/probe"
)

func ptr(v int64) *int64 { return &v }

// statusFixture is a cluster with one replica promoted behind the
// inventory's back (its sentinel agreeing with it, against the others),
// one lagging, one not ready with its sentinel short of a quorum, and one
// unreachable.
func statusFixture() []nodeStatus {
	return []nodeStatus{
		{Node: "master", Address: "10.213.1.2", Role: "master", Reachable: true, RedisRole: "master", Value: "42", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", offset: 5000, Sentinel: "master", SentinelQuorum: "OK 5 usable Sentinels. Quorum and failover authorization can be reached"},
		{Node: "mirror", Address: "10.213.2.2", Role: "mirror", Reachable: true, RedisRole: "master", Value: "42", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", Sentinel: "mirror", SentinelQuorum: "OK 5 usable Sentinels. Quorum and failover authorization can be reached"},
		{Node: "na", Address: "10.213.3.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "up", LagSeconds: ptr(0), Value: "42", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", offset: 5000, Sentinel: "master", SentinelQuorum: "OK 5 usable Sentinels. Quorum and failover authorization can be reached"},
		{Node: "sa", Address: "10.213.4.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "up", LagSeconds: ptr(1), Value: "41", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", offset: 4870, SentinelError: "sentinel: Could not connect to Redis at 127.0.0.1:26379: Connection refused"},
		{Node: "asia", Address: "10.213.5.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "down", LagSeconds: ptr(37), Value: "40", Counterd: "v1.1.0", ReadyText: "503 Service Unavailable value is 37s old", offset: 4000, Sentinel: "master", SentinelQuorum: "CKQUORUM: NOQUORUM 2 usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover"},
		{Node: "oceania", Address: "10.213.7.2", Role: "replica", Error: "oceania: reach it through the master: ssh 10.213.7.2:22: i/o timeout"},
	}
}

func TestStatusTable(t *testing.T) {
	ss := statusFixture()
	lagBytes(ss, "master")
	if ss[3].LagBytes == nil || *ss[3].LagBytes != 130 {
		t.Errorf("sa lag = %v, want 130 bytes behind the master", ss[3].LagBytes)
	}
	if ss[4].LagBytes != nil {
		t.Errorf("asia, link down, lag bytes = %d; want none (its offset is not current)", *ss[4].LagBytes)
	}
	var out bytes.Buffer
	if err := writeStatus(&out, ss); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "status.golden"), out.Bytes())

	out.Reset()
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ss); err != nil {
		t.Fatal(err)
	}
	testutil.Golden(t, filepath.Join("testdata", "status.json.golden"), out.Bytes())
}

func TestFromFacts(t *testing.T) {
	master := inventory.Node{Name: "master", Address: "10.213.1.2", Role: inventory.RoleMaster}
	na := inventory.Node{Name: "na", Address: "10.213.3.2", Role: inventory.RoleReplica}
	noSSH := errors.New("na: reach it through the master: i/o timeout")
	tests := []struct {
		name  string
		facts probe.Facts
		want  nodeStatus
	}{
		{"master", probe.Facts{Node: master,
			Redis:   probe.Fact[probe.RedisInfo]{V: probe.RedisInfo{Role: "master", Offset: 900}},
			Value:   probe.Fact[int64]{V: 42},
			Version: probe.Fact[string]{V: "1.2.0"},
			Ready:   probe.Fact[probe.HTTPAnswer]{V: probe.HTTPAnswer{Code: 200, Body: "ok"}}},
			nodeStatus{Node: "master", Address: "10.213.1.2", Role: "master", Reachable: true, RedisRole: "master",
				Value: "42", Counterd: "1.2.0", Ready: true, ReadyText: "200 ok", offset: 900,
				info: redisinfo.Fields{"role": "master", "connected_slaves": "0"}}},
		{"replica cut off", probe.Facts{Node: na,
			Redis:   probe.Fact[probe.RedisInfo]{V: probe.RedisInfo{Role: "slave", SinceMaster: 37, Offset: 800}},
			Value:   probe.Fact[int64]{V: 41},
			Version: probe.Fact[string]{V: "1.2.0"},
			Ready:   probe.Fact[probe.HTTPAnswer]{V: probe.HTTPAnswer{Code: 503, Body: "value is 37s old"}}},
			nodeStatus{Node: "na", Address: "10.213.3.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "down",
				LagSeconds: ptr(37), Value: "41", Counterd: "1.2.0", ReadyText: "503 value is 37s old", offset: 800,
				info: redisinfo.Fields{"role": "slave", "connected_slaves": "0", "master_host": "", "master_port": "0"}}},
		{"unreachable", probe.Facts{Node: na, SSH: probe.Fact[time.Duration]{Err: noSSH},
			Redis: probe.Fact[probe.RedisInfo]{Err: probe.ErrNoSSH}, Version: probe.Fact[string]{Err: probe.ErrNoSSH},
			Value: probe.Fact[int64]{Err: errors.New("connect: no route")}, Ready: probe.Fact[probe.HTTPAnswer]{Err: errors.New("connect: no route")}},
			nodeStatus{Node: "na", Address: "10.213.3.2", Role: "replica", Error: noSSH.Error(), ReadyText: "connect: no route"}},
	}
	for _, tt := range tests {
		got := fromFacts(&tt.facts)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: fromFacts =\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}
