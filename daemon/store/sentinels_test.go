package store

import (
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestFailoverOptionsKeepIdleConnections: the failover client keeps
// connections to the master ready, so a press after a failover does not
// spend its deadline dialling across an ocean; never more than the pool.
func TestFailoverOptionsKeepIdleConnections(t *testing.T) {
	for _, tt := range []struct{ pool, minIdle, want int }{{10, 0, masterMinIdle}, {10, 5, 5}, {2, 0, 2}} {
		got := failoverOptions(&redis.Options{PoolSize: tt.pool, MinIdleConns: tt.minIdle}, Options{}).MinIdleConns
		if got != tt.want {
			t.Errorf("pool %d, local min idle %d: failover MinIdleConns %d, want %d", tt.pool, tt.minIdle, got, tt.want)
		}
	}
}

func TestPromotionFirst(t *testing.T) {
	rep := func(ip, port, prio, flags string) map[string]string {
		return map[string]string{"ip": ip, "port": port, "slave-priority": prio, "flags": flags}
	}
	tests := []struct {
		name string
		reps []map[string]string
		want []string
	}{
		{"lowest non-zero priority", []map[string]string{rep("10.0.0.3", "6380", "100", "slave"), rep("10.0.0.2", "6380", "10", "slave"), rep("10.0.0.4", "6380", "0", "slave")}, []string{"10.0.0.2:6380"}},
		{"ties all count", []map[string]string{rep("10.0.0.3", "6380", "10", "slave"), rep("10.0.0.2", "6380", "10", "slave")}, []string{"10.0.0.2:6380", "10.0.0.3:6380"}},
		{"a down mirror is skipped", []map[string]string{rep("10.0.0.2", "6380", "10", "s_down,slave"), rep("10.0.0.3", "6380", "100", "slave")}, []string{"10.0.0.3:6380"}},
		{"the replica being promoted is the master now", []map[string]string{rep("10.0.0.2", "6380", "10", "slave,promoted"), rep("10.0.0.3", "6380", "100", "slave")}, []string{"10.0.0.3:6380"}},
		{"disconnected is skipped", []map[string]string{rep("10.0.0.2", "6380", "10", "slave,disconnected")}, nil},
		{"never-promote only", []map[string]string{rep("10.0.0.2", "6380", "0", "slave")}, nil},
		{"ipv6", []map[string]string{rep("fd00::2", "6380", "10", "slave")}, []string{"[fd00::2]:6380"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := promotionFirst(tt.reps).addrs; !slices.Equal(got, tt.want) {
				t.Errorf("promotionFirst(%v) = %q, want %q", tt.reps, got, tt.want)
			}
		})
	}
}
