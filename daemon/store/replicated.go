package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"counter/internal/redisinfo"
)

// errNotReplicated: the press counted on the master but no replica the
// sentinels would promote first acknowledged it in time. Should the master
// die now, the promoted replica would not have it, so it is not a success.
var errNotReplicated = errors.New("press not yet on the replica the sentinels would promote first")

// runIncrement runs the increment script on the master. Without sentinels
// that is all. With them, a counted press (or the replay of an earlier one)
// is returned only once it is on a replica Sentinel would promote first:
// in one pipeline on one connection, so WAIT waits for this very write,
//
//	EVALSHA (the press) ; INFO replication (master_repl_offset covers it) ;
//	WAIT 1 t ; INFO replication (each replica's acknowledged offset)
//
// then, if none of the healthy replicas with the lowest non-zero priority
// has acknowledged that offset, one more WAIT for every connected replica
// and a last look. When the sentinels know no healthy promotable replica
// (the mirror is dead), any replica's acknowledgement is enough (WAIT 1).
// An error after the script ran is ErrOutcomeUnknown, never "not counted".
func (s *Store) runIncrement(ctx context.Context, keys []string, args ...any) ([]int64, error) {
	if s.sent == nil {
		return incrementScript.Run(ctx, s.master, keys, args...).Int64Slice()
	}
	conn := s.master.Conn()
	defer conn.Close()
	res, ours, info, err := s.pressPipeline(ctx, conn, keys, args, incrementScript.EvalSha)
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		// A new master (after a failover) may not have the script cached;
		// NOSCRIPT means it did not run, so sending it whole is safe.
		res, ours, info, err = s.pressPipeline(ctx, conn, keys, args, incrementScript.Eval)
	}
	if err != nil || (res[0] != 0 && res[0] != 4) {
		return res, err
	}
	if info != nil && s.promotedHolds(info, ours) {
		return res, nil
	}
	// One more bounded wait, for every connected replica, then a last look.
	n, _ := info.Int("connected_slaves")
	var after *redis.StringCmd
	_, err = conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "WAIT", max(n, 1), s.waitMillis())
		after = p.Info(ctx, "replication")
		return nil
	})
	if err != nil {
		return nil, unknownAfterScript(err)
	}
	if s.promotedHolds(redisinfo.Parse(after.Val()), ours) {
		return res, nil
	}
	return nil, unknownAfterScript(errNotReplicated)
}

// pressPipeline sends the press and the replication check in one pipeline.
// err is the script's own error (it did not run, or its outcome is
// unknown) or, once it ran, an ErrOutcomeUnknown. info is the replication
// state after WAIT 1, nil when the press needs no check.
func (s *Store) pressPipeline(ctx context.Context, conn *redis.Conn, keys []string, args []any,
	eval func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd,
) (res []int64, ours int64, info redisinfo.Fields, err error) {
	var script *redis.Cmd
	var before, after *redis.StringCmd
	_, _ = conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		script = eval(ctx, p, keys, args...)
		before = p.Info(ctx, "replication")
		p.Do(ctx, "WAIT", 1, s.waitMillis())
		after = p.Info(ctx, "replication")
		return nil
	})
	if res, err = script.Int64Slice(); err != nil {
		return nil, 0, nil, err
	}
	if len(res) == 0 {
		return nil, 0, nil, errors.New("empty script reply")
	}
	if res[0] != 0 && res[0] != 4 {
		return res, 0, nil, nil // nothing was counted: nothing to wait for
	}
	if err := errors.Join(before.Err(), after.Err()); err != nil {
		return nil, 0, nil, unknownAfterScript(err)
	}
	ours, ok := redisinfo.Parse(before.Val()).Int("master_repl_offset")
	if !ok {
		return nil, 0, nil, unknownAfterScript(errors.New("no master_repl_offset in INFO replication"))
	}
	return res, ours, redisinfo.Parse(after.Val()), nil
}

// promotedHolds reports whether a replica the sentinels would promote first
// has acknowledged the replication offset ours; any replica will do when
// they know none (the mirror is dead: the guarantee falls back to WAIT 1).
func (s *Store) promotedHolds(info redisinfo.Fields, ours int64) bool {
	acked := map[string]int64{}
	for _, r := range info.Replicas() {
		if r.State == "online" {
			acked[r.Addr] = r.Offset
		}
	}
	p := s.sent.first.Load()
	if p == nil || len(p.addrs) == 0 {
		for _, off := range acked {
			if off >= ours {
				return true
			}
		}
		return false
	}
	attached := false
	for _, a := range p.addrs {
		off, ok := acked[a]
		if ok && off >= ours {
			return true
		}
		attached = attached || ok
	}
	if !attached { // a failover, or the mirror lost: the order may have changed
		s.sent.askAgain()
	}
	return false
}

// waitMillis is WAIT's timeout: a quarter of Timeout each, so the press,
// both waits and the reads fit in about one Timeout. Never 0 (for ever).
func (s *Store) waitMillis() int64 {
	return max((s.o.Timeout / 4).Milliseconds(), 1)
}

// unknownAfterScript is a failure after the script ran on the master.
func unknownAfterScript(err error) error {
	// %v, not %w: a Redis error reply here (WAIT on a demoted master) must
	// not read as "the script was refused".
	return fmt.Errorf("%w: %w: replication check: %v", ErrOutcomeUnknown, ErrMasterUnavailable, err)
}
