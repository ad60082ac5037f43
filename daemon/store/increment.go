package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// incrementScript is the whole press, atomic on the master in one round trip.
// Redis TIME (the master's clock) decides the window, so the web nodes'
// clocks never matter.
//
//	KEYS[1]  counter key
//	KEYS[2]  session key (ARGV[1] = "session") or user key (ARGV[1] = "login")
//	ARGV[2]  user key prefix, to find the user of a session
//	ARGV[3]  window in microseconds
//	ARGV[4]  user field of the last increment
//	ARGV[5]  channel for the new value
//
// Returns {0, value}, {1} no session, {2} no such user, {3, retry-after µs}.
// The session's user key is built inside the script, so it is not declared in
// KEYS: fine on one master, not usable on Redis Cluster.
var incrementScript = redis.NewScript(`
local userKey = KEYS[2]
if ARGV[1] == 'session' then
  local login = redis.call('GET', KEYS[2])
  if not login then return {1} end
  userKey = ARGV[2] .. login
  -- A session from before logins were folded may name a spelling that
  -- FoldLegacyLogins has since moved to its folded (ASCII lower case) key.
  if redis.call('EXISTS', userKey) == 0 then userKey = ARGV[2] .. string.lower(login) end
end
if redis.call('EXISTS', userKey) == 0 then return {2} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', userKey, ARGV[4]) or '')
if last then
  -- a time in the future (clock stepped back after a failover) counts as now
  if last > now then last = now end
  if now - last < window then return {3, last + window - now} end
end
local v = redis.call('INCR', KEYS[1])
redis.call('HSET', userKey, ARGV[4], string.format('%d', now))
redis.call('PUBLISH', ARGV[5], v)
return {0, v}
`)

// IncrementSession presses the button for the session's user.
// Errors: ErrNoSession, *TooSoonError, ErrMasterUnavailable.
func (s *Store) IncrementSession(ctx context.Context, token string) (int64, error) {
	if token == "" {
		return 0, ErrNoSession
	}
	return s.increment(ctx, "session", s.SessionKey(token))
}

// IncrementLogin presses the button for the account id login (Account.ID),
// which the caller has just authenticated. Errors: ErrBadCredentials (no such user), *TooSoonError,
// ErrMasterUnavailable.
func (s *Store) IncrementLogin(ctx context.Context, login string) (int64, error) {
	if login == "" {
		return 0, ErrBadCredentials
	}
	return s.increment(ctx, "login", s.UserKey(login))
}

func (s *Store) increment(ctx context.Context, mode, key string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	res, err := incrementScript.Run(ctx, s.master,
		[]string{s.ValueKey(), key},
		mode, s.o.KeyPrefix+"user:", s.o.Window.Microseconds(), FieldLastIncrement, s.Channel(),
	).Int64Slice()
	if err != nil {
		s.redisError("increment", err)
		return 0, s.masterError(ctx, "increment", err)
	}
	if len(res) == 0 {
		return 0, fmt.Errorf("increment: empty script reply")
	}
	switch {
	case res[0] == 0 && len(res) == 2:
		return res[1], nil
	case res[0] == 1:
		return 0, ErrNoSession
	case res[0] == 2 && mode == "session":
		// The session outlived its user (deleted by an admin): treat as logged out.
		return 0, ErrNoSession
	case res[0] == 2:
		return 0, ErrBadCredentials
	case res[0] == 3 && len(res) == 2:
		return 0, &TooSoonError{RetryAfter: time.Duration(res[1]) * time.Microsecond}
	}
	return 0, fmt.Errorf("increment: unexpected script reply %v", res)
}

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
		for _, p := range []string{"READONLY", "LOADING", "MASTERDOWN", "BUSY", "TRYAGAIN", "NOREPLICAS", "CLUSTERDOWN"} {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%s: %w: %w", op, ErrMasterUnavailable, err)
			}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, ErrMasterUnavailable, err)
}
