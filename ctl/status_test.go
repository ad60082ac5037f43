package ctl

import (
	"bytes"
	"encoding/json"
	"testing"
)

func ptr(v int64) *int64 { return &v }

// statusFixture is a cluster with one replica promoted behind the
// inventory's back, one lagging, one not ready and one unreachable.
func statusFixture() []nodeStatus {
	return []nodeStatus{
		{Node: "master", Address: "10.213.1.2", Role: "master", Reachable: true, RedisRole: "master", Value: "42", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", offset: 5000},
		{Node: "mirror", Address: "10.213.2.2", Role: "mirror", Reachable: true, RedisRole: "master", Value: "42", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok"},
		{Node: "na", Address: "10.213.3.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "up", LagSeconds: ptr(0), Value: "42", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", offset: 5000},
		{Node: "sa", Address: "10.213.4.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "up", LagSeconds: ptr(1), Value: "41", Counterd: "v1.2.0", Ready: true, ReadyText: "200 OK ok", offset: 4870},
		{Node: "asia", Address: "10.213.5.2", Role: "replica", Reachable: true, RedisRole: "replica", Link: "down", LagSeconds: ptr(37), Value: "40", Counterd: "v1.1.0", ReadyText: "503 Service Unavailable value is 37s old", offset: 4000},
		{Node: "oceania", Address: "10.213.7.2", Role: "replica", Error: "oceania: reach it through the master: ssh 10.213.7.2:22: i/o timeout"},
	}
}

func TestStatusTable(t *testing.T) {
	ss := statusFixture()
	lagBytes(ss)
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
	golden(t, "status.golden", out.Bytes())

	out.Reset()
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ss); err != nil {
		t.Fatal(err)
	}
	golden(t, "status.json.golden", out.Bytes())
}
