package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// userLua sets userKey to the record of the user behind KEYS[2], a session
// key (ARGV[1] = "session", resolved through ARGV[2], the user key prefix) or
// a user key (ARGV[1] = "login"). A session whose key is gone returns {1}.
// The session's user key is built here, so it is not declared in KEYS: fine
// on one master, not usable on Redis Cluster.
const userLua = `
local userKey = KEYS[2]
if ARGV[1] == 'session' then
  local login = redis.call('GET', KEYS[2])
  if not login then return {1} end
  userKey = ARGV[2] .. login
  -- A session from before logins were folded may name a spelling that
  -- FoldLegacyLogins has since moved to its folded (ASCII lower case) key.
  if redis.call('EXISTS', userKey) == 0 then userKey = ARGV[2] .. string.lower(login) end
end
`

// incrementScript is the whole press, atomic on the master in one round trip
// (then a second one confirms it, below). Redis TIME (the master's clock) decides the window, so the web nodes'
// clocks never matter.
//
//	KEYS[1]  counter key
//	KEYS[2]  session key (ARGV[1] = "session") or user key (ARGV[1] = "login")
//	ARGV[2]  user key prefix, to find the user of a session
//	ARGV[3]  window in microseconds
//	ARGV[4]  user field of the last increment (FieldLastIncrement)
//	ARGV[5]  channel for the new value
//	ARGV[6]  user field of the unconfirmed press (FieldUnconfirmed)
//
// Returns {0, value, press µs} counted now, {1} no session, {2} no such
// user, {3, retry-after µs} too soon, {4, value, press µs} too soon but the
// last press is unconfirmed: its answer never reached counterd, so it is
// reported now instead of refusing a press the user was never told about.
//
// Every counted press is stored unconfirmed in the same atomic step that
// counts it: ARGV[6] holds "<press µs>:<value>"; counterd clears the mark
// (confirmScript) once the reply has reached it. The mark names its press, so
// a mark left by an older press is never reported as the last one. Replaying
// is safe because the counter moved exactly once: the replay reads, never INCRs.
var incrementScript = redis.NewScript(userLua + `
if redis.call('EXISTS', userKey) == 0 then return {2} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[3])
local storedRaw = redis.call('HGET', userKey, ARGV[4])
local stored = tonumber(storedRaw or '')
if stored then
  -- a time in the future (clock stepped back after a failover) counts as now
  local last = stored
  if last > now then last = now end
  if now - last < window then
    local mark = redis.call('HGET', userKey, ARGV[6])
    if mark then
      local at, v = string.match(mark, '^(%d+):(%d+)$')
      if at == storedRaw then return {4, tonumber(v), stored} end
    end
    return {3, last + window - now}
  end
end
local v = redis.call('INCR', KEYS[1])
redis.call('HSET', userKey, ARGV[4], string.format('%d', now), ARGV[6], string.format('%d:%d', now, v))
redis.call('PUBLISH', ARGV[5], v)
return {0, v, now}
`)

// confirmScript clears the unconfirmed mark ARGV[4] ("<press µs>:<value>")
// if it is still there: a newer press's mark stays. KEYS and ARGV[1..2] as
// incrementScript; ARGV[3] FieldUnconfirmed.
var confirmScript = redis.NewScript(userLua + `
if redis.call('HGET', userKey, ARGV[3]) == ARGV[4] then
  redis.call('HDEL', userKey, ARGV[3])
end
return {0}
`)

// Press is a counted press.
type Press struct {
	Value int64     // the counter right after this press
	At    time.Time // when the master counted it, on its clock
	// Earlier marks the user's last press, counted earlier, whose answer was
	// lost (counterd answered ErrOutcomeUnknown): it is reported in place of
	// a refusal, and the counter did not move again.
	Earlier bool
}

// IncrementSession presses the button for the session's user. Errors:
// ErrNoSession, *TooSoonError, ErrOutcomeUnknown (with ErrMasterUnavailable),
// ErrMasterUnavailable.
func (s *Store) IncrementSession(ctx context.Context, token string) (Press, error) {
	if token == "" {
		return Press{}, ErrNoSession
	}
	key := s.SessionKey(token)
	if s.ends.has(key) { // logged out while the master did not answer
		return Press{}, ErrNoSession
	}
	return s.increment(ctx, "session", key)
}

// IncrementLogin presses the button for the account id login (Account.ID),
// which the caller has just authenticated. Errors: ErrBadCredentials (no such
// user), *TooSoonError, ErrOutcomeUnknown (with ErrMasterUnavailable),
// ErrMasterUnavailable.
func (s *Store) IncrementLogin(ctx context.Context, login string) (Press, error) {
	if login == "" {
		return Press{}, ErrBadCredentials
	}
	return s.increment(ctx, "login", s.UserKey(login))
}

func (s *Store) increment(ctx context.Context, mode, key string) (Press, error) {
	keys := []string{s.ValueKey(), key}
	sctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	args := []any{mode, s.userPrefix(), s.o.Window.Microseconds(), FieldLastIncrement, s.Channel(), FieldUnconfirmed}
	res, err := s.runIncrement(sctx, keys, args...)
	deadline, _ := sctx.Deadline()
	for s.masterMoving(err) && time.Until(deadline) > s.o.Timeout/2 && sleepCtx(sctx, movingRetry) {
		// Try again, on the new master once the failover client follows
		// it (each try dials anew: a refusal or a broken connection is
		// not pooled again). Only in the first half of the press's time,
		// so the last try can still come back "not counted" rather than
		// time out "unknown".
		res, err = s.runIncrement(sctx, keys, args...)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		// The script ran; the press is not known to be on the replica the
		// sentinels would promote first (see runIncrement).
		s.redisError("increment replication", err)
		return Press{}, fmt.Errorf("increment: %w", err)
	}
	if err != nil {
		s.redisError("increment", err)
		return Press{}, s.incrementError(sctx, err)
	}
	if len(res) == 0 {
		return Press{}, fmt.Errorf("increment: empty script reply")
	}
	switch {
	case (res[0] == 0 || res[0] == 4) && len(res) == 3:
		s.confirmLater(ctx, keys, mode, unconfirmedMark(res[2], res[1]))
		return Press{Value: res[1], At: time.UnixMicro(res[2]), Earlier: res[0] == 4}, nil
	case res[0] == 1:
		return Press{}, ErrNoSession
	case res[0] == 2 && mode == "session":
		// The session outlived its user (deleted by an admin): treat as logged out.
		return Press{}, ErrNoSession
	case res[0] == 2:
		return Press{}, ErrBadCredentials
	case res[0] == 3 && len(res) == 2:
		return Press{}, &TooSoonError{RetryAfter: time.Duration(res[1]) * time.Microsecond}
	}
	return Press{}, fmt.Errorf("increment: unexpected script reply %v", res)
}

// confirmLater records that the reply of the press with the unconfirmed
// mark reached counterd, so the user's next press within the window is
// refused rather than answered with this one. It is skipped when the caller
// has gone (its answer is lost: let the retry have it) and best effort
// otherwise: a press left unconfirmed only means one more replay of a true
// success, never a second count. That is also why the user is not kept
// waiting for it: it would cost every press a second round trip to the
// master (across an ocean, most of the press's time: docs/geobench.md); a
// press sent again before it lands is answered with the first one's value.
// Close waits for the confirmations in flight.
func (s *Store) confirmLater(ctx context.Context, keys []string, mode, mark string) {
	if ctx.Err() != nil {
		return
	}
	s.confirms.Add(1)
	go func() {
		defer s.confirms.Done()
		s.confirm(context.WithoutCancel(ctx), keys, mode, mark)
	}()
}

func (s *Store) confirm(ctx context.Context, keys []string, mode, mark string) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	err := confirmScript.Run(ctx, s.master, keys, mode, s.userPrefix(), FieldUnconfirmed, mark).Err()
	if err != nil {
		s.redisError("confirm press", err)
		s.log.Warn("confirming a press failed: the user's next press within the window gets this one's answer again", "err", err)
	}
}

// unconfirmedMark is what FieldUnconfirmed holds for the press at pressUs
// that made value.
func unconfirmedMark(pressUs, value int64) string {
	return strconv.FormatInt(pressUs, 10) + ":" + strconv.FormatInt(value, 10)
}

// movingRetry is how long a press that found no master to take it waits
// before it is tried again.
//
// In a planned switchover the writes paused on the old master are let
// through once it is a replica, and all of them were answered "not
// counted" (chaos scenario 6, 14:25). When a master dies, every press until
// the failover client follows the new one fails at once on a connection
// that is refused or broken, and was answered "not known yet"; its user
// pressed again seconds later, and scenario 1 took 5.2 s to press again in
// the CI run of 45e1541. Tried again here, these presses count on the new
// master within their own deadline.
const movingRetry = 100 * time.Millisecond

// masterMoving reports whether err says the press reached no master that
// would take it and a failover may bring one: a refusal that means the
// script did not run and that passes by itself (see refusedForNow), or,
// with sentinels, a connection to the master that could not be opened or
// broke.
//
// A broken connection may have run the script; trying again is safe all the
// same: within the window the script counts a user once and answers a
// repeat with the press it counted (the unconfirmed mark), on the same
// master or on a replica promoted with that press.
func (s *Store) masterMoving(err error) bool {
	return refusedForNow(err) || (s.sent != nil && connectionLost(err))
}

// refusedForNow reports whether err is a master's refusal that a failover
// under way clears: READONLY (a replica now: the switch is being followed)
// or NOREPLICAS (just promoted, its replicas not attached yet: 37 presses
// of a planned switchover were answered "not counted" on a loaded 2-core
// lab, 2026-12-03). Either way the command did not run.
func refusedForNow(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return false
	}
	msg := rerr.Error()
	return strings.HasPrefix(msg, "READONLY") || strings.HasPrefix(msg, "NOREPLICAS")
}

// connectionLost reports whether err is a connection that could not be
// opened or broke (the net package wraps every refusal and reset in an
// OpError; a closed stream is EOF), not a timeout: once the press's time is
// spent there is none left to try again.
func connectionLost(err error) bool {
	var nerr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()) {
		return false
	}
	var operr *net.OpError
	return errors.As(err, &operr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// sleepCtx waits d, or less if ctx ends first; it reports whether ctx
// still has time.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// incrementError classifies a failed press. An error reply means the master
// refused the script (a demoted or loading node): it did not run, so the
// press did not count. Any other failure (a timeout, a connection lost after
// the script was written, a retry that could not connect) leaves the outcome
// unknown: the script may have run, or may still run when a frozen master
// wakes. That is ErrOutcomeUnknown, never "not counted".
func (s *Store) incrementError(ctx context.Context, err error) error {
	var rerr redis.Error
	if errors.As(err, &rerr) && !errors.Is(err, context.DeadlineExceeded) {
		return s.masterError(ctx, "increment", err)
	}
	if ctxErr := context.Cause(ctx); errors.Is(ctxErr, context.Canceled) {
		return fmt.Errorf("increment: %w", ctxErr)
	}
	return fmt.Errorf("increment: %w: %w: %w", ErrOutcomeUnknown, ErrMasterUnavailable, err)
}

func (s *Store) userPrefix() string { return s.o.KeyPrefix + "user:" }

// masterError classifies a failed master command: the caller's own
// cancellation stays what it is; a master that cannot be reached, answers
// too slowly or cannot take writes (a demoted or loading node) is
// ErrMasterUnavailable; anything else is a plain error.
func (s *Store) masterError(ctx context.Context, op string, err error) error {
	if ctxErr := context.Cause(ctx); errors.Is(ctxErr, context.Canceled) {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) && !errors.Is(err, context.DeadlineExceeded) {
		msg := rerr.Error()
		if refusedForNow(err) {
			return fmt.Errorf("%s: %w: %w: %w", op, ErrMasterUnavailable, ErrMasterMoving, err)
		}
		for _, p := range []string{"LOADING", "MASTERDOWN", "BUSY", "TRYAGAIN", "CLUSTERDOWN"} {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%s: %w: %w", op, ErrMasterUnavailable, err)
			}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, ErrMasterUnavailable, err)
}
