package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"counter/provisioning/inventory"
	"counter/provisioning/nagios"
	"counter/provisioning/probe"
	"counter/provisioning/raid"
)

// subject is what the checks of one node look at.
type subject struct {
	node   inventory.Node
	facts  *probe.Facts
	master *probe.Facts // the live master's facts, for offsets; nil if not probed
	// masterErr: the nodes disagree on who is master (livemaster.Decide).
	masterErr error
	limits    inventory.Health
	raid      inventory.RAIDPolicy
	now       time.Time
	// late: the run's own deadline passed, so a deadline error says
	// nothing about the node.
	late bool
	// masterAddrs are the host:port forms of the live master, as a
	// sentinel names it.
	masterAddrs []string
}

// grade runs the node-local checks (all but value, which needs polling).
func grade(s subject) []Result {
	f := s.facts
	out := []Result{s.ssh(), s.readyz(), s.redisRole(), s.replication(),
		s.sentinel(),
		s.memory(), s.disk(), s.certs(), s.clock(), s.raidState(),
		{Check: CheckDNS, State: nagios.Skipped, Message: "not checked by health: `counterctl dns plan` shows how the zone differs from the live cluster"},
	}
	for i := range out {
		out[i].Node = f.Node.Name
	}
	return out
}

// unknown is the result of a check whose facts could not be had; when SSH
// was the reason, it points at the ssh check instead of repeating it.
func unknown(check string, err error) Result {
	r := Result{Check: check, State: nagios.Unknown, Message: err.Error()}
	if errors.Is(err, probe.ErrNoSSH) {
		r.BlockedBy = CheckSSH
	}
	return r
}

// failed is CRITICAL, unless the run's own deadline passed and err is that
// deadline: then it says nothing about the node and is UNKNOWN.
func failed(late bool, check, what string, err error) Result {
	if late && errors.Is(err, context.DeadlineExceeded) {
		return Result{Check: check, State: nagios.Unknown, Message: "not answered before the run's --timeout: " + err.Error()}
	}
	return Result{Check: check, State: nagios.Critical, Message: what + err.Error()}
}

func (s subject) ssh() Result {
	if err := s.facts.SSH.Err; err != nil {
		return failed(s.late, CheckSSH, "unreachable: ", err)
	}
	return Result{Check: CheckSSH, State: nagios.OK, Message: fmt.Sprintf("connected in %s", round(s.facts.SSH.V))}
}

// sentinel: the node's sentinel answers, names the live master, and
// CKQUORUM holds (enough sentinels reachable for the quorum and for a
// majority to authorise a failover).
func (s subject) sentinel() Result {
	v := s.facts.Sentinel
	switch {
	case v.Err != nil:
		if errors.Is(v.Err, probe.ErrNoSSH) {
			return unknown(CheckSentinel, v.Err)
		}
		return failed(s.late, CheckSentinel, "no answer: ", v.Err)
	case s.masterErr != nil:
		return Result{Check: CheckSentinel, State: nagios.Critical, Message: fmt.Sprintf("names %s; %v", v.V.Master, s.masterErr)}
	case !slices.Contains(s.masterAddrs, v.V.Master):
		return Result{Check: CheckSentinel, State: nagios.Critical, Message: fmt.Sprintf("names %s as master, %s", v.V.Master, s.reference())}
	case v.V.QuorumErr != nil:
		return Result{Check: CheckSentinel, State: nagios.Critical, Message: fmt.Sprintf("names %s; %v", v.V.Master, v.V.QuorumErr)}
	}
	return Result{Check: CheckSentinel, State: nagios.OK, Message: fmt.Sprintf("names %s (%s); %s", s.master.Node.Name, v.V.Master, v.V.Quorum)}
}

func (s subject) readyz() Result {
	r := s.facts.Ready
	switch {
	case r.Err != nil:
		return failed(s.late, CheckReadyz, "no answer: ", r.Err)
	case r.V.Code != 200:
		return Result{Check: CheckReadyz, State: nagios.Critical, Message: fmt.Sprintf("%d %s", r.V.Code, r.V.Body)}
	}
	return Result{Check: CheckReadyz, State: nagios.OK, Message: "200 " + r.V.Body}
}

func (s subject) redisRole() Result {
	r := s.facts.Redis
	if r.Err != nil {
		return unknown(CheckRedisRole, r.Err)
	}
	n := s.facts.Node
	want := "slave"
	if s.master != nil && n.Name == s.master.Node.Name {
		want = "master"
	}
	switch {
	case r.V.Role != want:
		return Result{Check: CheckRedisRole, State: nagios.Critical,
			Message: fmt.Sprintf("Redis is %s, %s", redisRole(r.V.Role), s.reference())}
	case want == "slave" && r.V.MasterHost != s.masterAddr():
		return Result{Check: CheckRedisRole, State: nagios.Critical,
			Message: fmt.Sprintf("follows %s, %s at %s", r.V.MasterHost, s.reference(), s.masterAddr())}
	case want == "master":
		return Result{Check: CheckRedisRole, State: nagios.OK, Message: "master, " + s.reference()}
	}
	return Result{Check: CheckRedisRole, State: nagios.OK, Message: "replica, " + s.reference()}
}

// reference names the master a node is judged against: the live one, or
// the inventory's when the nodes disagree (livemaster.Decide failed).
func (s subject) reference() string {
	name := "unknown"
	if s.master != nil {
		name = s.master.Node.Name
	}
	if s.masterErr != nil {
		return fmt.Sprintf("the inventory's master is %s (%v)", name, s.masterErr)
	}
	return "the live master is " + name
}

func (s subject) masterAddr() string {
	if s.master == nil {
		return ""
	}
	return s.master.Node.Address
}

func redisRole(r string) string {
	if r == "slave" {
		return "replica"
	}
	return r
}

func (s subject) replication() Result {
	r := s.facts.Redis
	if r.Err != nil {
		res := unknown(CheckReplication, r.Err)
		if res.BlockedBy == "" {
			res.BlockedBy = CheckRedisRole
		}
		return res
	}
	if r.V.Role == "master" {
		return Result{Check: CheckReplication, State: nagios.OK, Message: fmt.Sprintf("master with %d replicas connected", r.V.ConnectedReplicas)}
	}
	lim := s.limits.ReplicationLag
	since := time.Duration(r.V.SinceMaster) * time.Second
	if !r.V.LinkUp {
		if r.V.SinceMaster < 0 {
			return Result{Check: CheckReplication, State: nagios.Critical, Message: "link down, never connected to the master"}
		}
		// A link that just dropped may come back by itself: at least WARNING,
		// CRITICAL once it has been down as long as the lag may be.
		return Result{Check: CheckReplication, State: nagios.Warning.Worse(above(since, lim)),
			Message: fmt.Sprintf("link down for %s (critical at %s)", since, lim.Critical)}
	}
	st := above(since, lim)
	msg := fmt.Sprintf("link up, last heard from the master %s ago", since)
	if m := s.master; m != nil && m.Redis.Err == nil && m.Redis.V.Role == "master" {
		behind := max(m.Redis.V.Offset-r.V.Offset, 0)
		st = st.Worse(above(behind, s.limits.ReplicationLagBytes))
		msg += fmt.Sprintf(", %s behind", bytesText(uint64(behind)))
	} else {
		msg += ", bytes behind unknown (no master offset)"
	}
	return Result{Check: CheckReplication, State: st, Message: msg}
}

// above grades v where higher is worse.
func above[T int64 | time.Duration](v T, l inventory.Limits[T]) nagios.State {
	switch {
	case v >= l.Critical:
		return nagios.Critical
	case v >= l.Warning:
		return nagios.Warning
	}
	return nagios.OK
}

// below grades v where lower is worse.
func below(v int64, l inventory.Limits[int64]) nagios.State {
	switch {
	case v <= l.Critical:
		return nagios.Critical
	case v <= l.Warning:
		return nagios.Warning
	}
	return nagios.OK
}

func (s subject) memory() Result {
	f := s.facts
	if f.Redis.Err != nil {
		res := unknown(CheckMemory, f.Redis.Err)
		if res.BlockedBy == "" {
			res.BlockedBy = CheckRedisRole
		}
		return res
	}
	if f.Memory.Err != nil {
		return unknown(CheckMemory, f.Memory.Err)
	}
	if f.Memory.V == 0 {
		return Result{Check: CheckMemory, State: nagios.Unknown, Message: "MemTotal is 0"}
	}
	pct := int64(f.Redis.V.UsedMemory * 100 / f.Memory.V)
	st := above(pct, s.limits.MemoryPercent)
	return Result{Check: CheckMemory, State: st, Message: fmt.Sprintf("Redis uses %s of %s RAM (%d%%, warning at %d%%)",
		bytesText(f.Redis.V.UsedMemory), bytesText(f.Memory.V), pct, s.limits.MemoryPercent.Warning)}
}

func (s subject) disk() Result {
	d := s.facts.Disks
	if d.Err != nil {
		return unknown(CheckDisk, d.Err)
	}
	st := nagios.OK
	var parts []string
	for _, disk := range d.V {
		if disk.Size == 0 {
			st = st.Worse(nagios.Unknown)
			parts = append(parts, disk.Path+" reports size 0")
			continue
		}
		pct := int64(disk.Avail * 100 / disk.Size)
		st = st.Worse(below(pct, s.limits.DiskFreePercent))
		parts = append(parts, fmt.Sprintf("%s %d%% free (%s)", disk.Path, pct, bytesText(disk.Avail)))
	}
	return Result{Check: CheckDisk, State: st, Message: strings.Join(parts, ", ")}
}

func (s subject) certs() Result {
	c := s.facts.Certs
	if errors.Is(c.Err, probe.ErrNoSSH) {
		return unknown(CheckTLSCert, c.Err)
	}
	st := nagios.OK
	var parts []string
	for _, cert := range c.V {
		days := int64(cert.NotAfter.Sub(s.now) / (24 * time.Hour))
		if !s.now.Before(cert.NotAfter) {
			st = st.Worse(nagios.Critical)
			parts = append(parts, fmt.Sprintf("%s expired %s", cert.Path, cert.NotAfter.UTC().Format(time.DateOnly)))
			continue
		}
		st = st.Worse(below(days, s.limits.CertDays))
		parts = append(parts, fmt.Sprintf("%s %d days left", cert.Path, days))
	}
	if c.Err != nil {
		st = st.Worse(nagios.Unknown)
		parts = append(parts, c.Err.Error())
	}
	msg := strings.Join(parts, ", ")
	if st == nagios.Warning || st == nagios.Critical {
		msg += " (counterctl provision renews certificates within 30 days of expiry)"
	}
	return Result{Check: CheckTLSCert, State: st, Message: msg}
}

func (s subject) clock() Result {
	c := s.facts.Clock
	if c.Err != nil {
		return unknown(CheckClock, c.Err)
	}
	// The node read its clock somewhere within the round trip: only what
	// exceeds half of it is certainly offset.
	sure := max(c.V.Offset.Abs()-c.V.RTT/2, 0)
	return Result{Check: CheckClock, State: above(sure, s.limits.ClockOffset),
		Message: fmt.Sprintf("offset %+.3fs (±%.3fs)", c.V.Offset.Seconds(), (c.V.RTT / 2).Seconds())}
}

func (s subject) raidState() Result {
	if s.raid == inventory.RAIDNone {
		return Result{Check: CheckRAID, State: nagios.Skipped, Message: "not checked: the inventory says raid: none"}
	}
	r := s.facts.RAID
	if r.Err != nil {
		return unknown(CheckRAID, r.Err)
	}
	if r.V.Missing {
		return Result{Check: CheckRAID, State: nagios.Unknown, Message: fmt.Sprintf("no state file %s: has %s run? (systemctl status %s)",
			r.V.Path, raid.TimerUnitName, raid.TimerUnitName)}
	}
	rep := r.V.Report
	// The node wrote checked_at by its own clock; compare on that clock.
	nodeNow := s.now
	if s.facts.Clock.Err == nil {
		nodeNow = nodeNow.Add(s.facts.Clock.V.Offset)
	}
	if age := nodeNow.Sub(rep.CheckedAt); age > s.limits.RAIDStateMaxAge {
		return Result{Check: CheckRAID, State: nagios.Unknown, Message: fmt.Sprintf("state file is %s old, more than %s: is %s running?",
			round(age), s.limits.RAIDStateMaxAge, raid.TimerUnitName)}
	}
	st := nagios.State(rep.Severity)
	if rep.Severity < nagios.OK || rep.Severity > nagios.Unknown {
		st = nagios.Unknown
	}
	return Result{Check: CheckRAID, State: st, Message: rep.Summary}
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func bytesText(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
