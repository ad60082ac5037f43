package inventory

import (
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Health holds the thresholds `counterctl health` grades a cluster with.
// Every field has a default (DefaultHealth); the inventory's `health:`
// section overrides any of them.
type Health struct {
	// ReplicationLag is how long a replica has not heard from its master.
	ReplicationLag Limits[time.Duration]
	// ReplicationLagBytes is how far a replica's offset trails the master's.
	ReplicationLagBytes Limits[int64]
	// ValueStaleness is how long a node may show a value older than the
	// master's before the check fails (counterd's --max-staleness).
	ValueStaleness time.Duration
	// MemoryPercent is Redis used_memory as a share of the node's RAM.
	MemoryPercent Limits[int64]
	// DiskFreePercent is free space on / and the Redis directory; lower is worse.
	DiskFreePercent Limits[int64]
	// CertDays is days left on the node's TLS certificates; lower is worse.
	CertDays Limits[int64]
	// ClockOffset is the node's clock against counterctl's, net of the round trip.
	ClockOffset Limits[time.Duration]
	// RAIDStateMaxAge is the age past which the RAID check's state file is UNKNOWN.
	RAIDStateMaxAge time.Duration
}

// Limits is a WARNING and a CRITICAL threshold.
type Limits[T int64 | time.Duration] struct {
	Warning, Critical T
}

// DefaultHealth returns the thresholds used where the inventory says nothing.
// Memory: Redis forks to persist, and copy-on-write can double its memory, so
// half the RAM is the design's "dataset fits in RAM with margin". Lag bytes:
// beyond repl-backlog-size (16 MiB) a replica can no longer resume and must
// copy the whole dataset again.
func DefaultHealth() Health {
	return Health{
		ReplicationLag:      Limits[time.Duration]{Warning: 5 * time.Second, Critical: 30 * time.Second},
		ReplicationLagBytes: Limits[int64]{Warning: 1 << 20, Critical: 16 << 20},
		ValueStaleness:      2 * time.Second,
		MemoryPercent:       Limits[int64]{Warning: 50, Critical: 80},
		DiskFreePercent:     Limits[int64]{Warning: 20, Critical: 10},
		CertDays:            Limits[int64]{Warning: 30, Critical: 7},
		ClockOffset:         Limits[time.Duration]{Warning: time.Second, Critical: 5 * time.Second},
		RAIDStateMaxAge:     15 * time.Minute,
	}
}

// health decodes the `health:` section over the defaults.
func (d *decoder) health(n *yaml.Node) Health {
	out := DefaultHealth()
	m, ok := d.mapping(n, "health", "replication_lag", "replication_lag_bytes", "value_staleness",
		"memory_percent", "disk_free_percent", "cert_days", "clock_offset", "raid_state_max_age")
	if !ok {
		return out
	}
	if v := m.get("replication_lag"); v != nil {
		out.ReplicationLag = limits(d, v, "health.replication_lag", out.ReplicationLag, d.duration, true)
	}
	if v := m.get("replication_lag_bytes"); v != nil {
		out.ReplicationLagBytes = limits(d, v, "health.replication_lag_bytes", out.ReplicationLagBytes, d.count(0, 1<<40), true)
	}
	if v := m.get("value_staleness"); v != nil {
		out.ValueStaleness, _ = d.duration(v, "health.value_staleness")
	}
	if v := m.get("memory_percent"); v != nil {
		out.MemoryPercent = limits(d, v, "health.memory_percent", out.MemoryPercent, d.count(1, 100), true)
	}
	if v := m.get("disk_free_percent"); v != nil {
		out.DiskFreePercent = limits(d, v, "health.disk_free_percent", out.DiskFreePercent, d.count(0, 99), false)
	}
	if v := m.get("cert_days"); v != nil {
		out.CertDays = limits(d, v, "health.cert_days", out.CertDays, d.count(0, 3650), false)
	}
	if v := m.get("clock_offset"); v != nil {
		out.ClockOffset = limits(d, v, "health.clock_offset", out.ClockOffset, d.duration, true)
	}
	if v := m.get("raid_state_max_age"); v != nil {
		out.RAIDStateMaxAge, _ = d.duration(v, "health.raid_state_max_age")
	}
	return out
}

// limits decodes {warning: X, critical: Y} over def. higherIsWorse says
// which way the two must be ordered, so a swapped pair is an error rather
// than a check that can never warn.
func limits[T int64 | time.Duration](d *decoder, n *yaml.Node, path string, def Limits[T],
	parse func(*yaml.Node, string) (T, bool), higherIsWorse bool) Limits[T] {
	m, ok := d.mapping(n, path, "warning", "critical")
	if !ok {
		return def
	}
	out, good := def, true
	for _, f := range []struct {
		key string
		dst *T
	}{{"warning", &out.Warning}, {"critical", &out.Critical}} {
		if v := m.get(f.key); v != nil {
			x, ok := parse(v, join(path, f.key))
			*f.dst, good = x, good && ok
		}
	}
	switch {
	case !good: // already reported; an order complaint about a bad value would mislead
	case higherIsWorse && out.Warning > out.Critical:
		d.failf(n, path, "warning %v is above critical %v (higher is worse here)", out.Warning, out.Critical)
	case !higherIsWorse && out.Warning < out.Critical:
		d.failf(n, path, "warning %v is below critical %v (lower is worse here)", out.Warning, out.Critical)
	}
	return out
}

// count returns a parser of whole numbers in [lo, hi].
func (d *decoder) count(lo, hi int64) func(*yaml.Node, string) (int64, bool) {
	return func(n *yaml.Node, field string) (int64, bool) {
		s, ok := d.str(n, field)
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < lo || v > hi {
			d.failf(n, field, "want a whole number from %d to %d, got %q", lo, hi, s)
			return 0, false
		}
		return v, true
	}
}
