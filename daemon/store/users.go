package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Register creates login with an argon2id hash of password, on the master.
func (s *Store) Register(ctx context.Context, login, password string) error {
	if login == "" || password == "" {
		return errors.New("register: empty login or password")
	}
	encoded, err := s.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	created, err := s.master.HSetNX(ctx, s.UserKey(login), fieldHash, encoded).Result()
	if err != nil {
		s.redisError("register", err)
		return s.masterError(ctx, "register", err)
	}
	if !created {
		return ErrExists
	}
	return nil
}

// Authenticate checks login's password. Unknown logins and wrong passwords
// both give ErrBadCredentials after the same argon2 work. The record is read
// from the local node, then from the master when the local node does not
// have it (yet: replication lags right after Register) or cannot answer.
func (s *Store) Authenticate(ctx context.Context, login, password string) error {
	if login == "" {
		return ErrBadCredentials
	}
	encoded, err := s.readLocalFirst(ctx, "authenticate", func(ctx context.Context, c *redis.Client) (string, error) {
		return c.HGet(ctx, s.UserKey(login), fieldHash).Result()
	})
	if errors.Is(err, redis.Nil) {
		_, _ = s.verify(ctx, password, s.dummyHash)
		return ErrBadCredentials
	}
	if err != nil {
		return err
	}
	ok, err := s.verify(ctx, password, encoded)
	if err != nil {
		return fmt.Errorf("authenticate %q: %w", login, err)
	}
	if !ok {
		return ErrBadCredentials
	}
	if needsRehash(encoded, s.o.Hash) {
		s.rehash(ctx, login, password, encoded)
	}
	return nil
}

// rehash stores password under the current HashParams, if the record still
// holds the old hash. Best effort: the login has already succeeded.
func (s *Store) rehash(ctx context.Context, login, password, old string) {
	encoded, err := s.hash(ctx, password)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	err = rehashScript.Run(ctx, s.master, []string{s.UserKey(login)}, fieldHash, old, encoded).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		s.redisError("rehash", err)
		s.log.Warn("upgrading password hash failed", "login", login, "err", err)
	}
}

var rehashScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 0
`)

// NewSession starts a session for login on the master and returns its
// token. Redis stores only the token's sha256.
func (s *Store) NewSession(ctx context.Context, login string) (string, error) {
	if login == "" {
		return "", errors.New("new session: empty login")
	}
	token, err := newToken()
	if err != nil {
		return "", fmt.Errorf("new session: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	if err := s.master.Set(ctx, s.SessionKey(token), login, s.o.SessionTTL).Err(); err != nil {
		s.redisError("new session", err)
		return "", s.masterError(ctx, "new session", err)
	}
	return token, nil
}

// SessionLogin returns the login of the session with token, or ErrNoSession.
func (s *Store) SessionLogin(ctx context.Context, token string) (string, error) {
	if token == "" || s.ends.has(s.SessionKey(token)) {
		return "", ErrNoSession
	}
	login, err := s.readLocalFirst(ctx, "session", func(ctx context.Context, c *redis.Client) (string, error) {
		return c.Get(ctx, s.SessionKey(token)).Result()
	})
	if errors.Is(err, redis.Nil) {
		return "", ErrNoSession
	}
	return login, err
}

// readLocalFirst runs read on the local node and, when that misses
// (redis.Nil) or fails, on the master. It returns redis.Nil only when the
// master misses too.
func (s *Store) readLocalFirst(ctx context.Context, op string, read func(context.Context, *redis.Client) (string, error)) (string, error) {
	lctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	v, err := read(lctx, s.local)
	cancel()
	if err == nil || s.master == s.local && errors.Is(err, redis.Nil) {
		return v, err
	}
	if !errors.Is(err, redis.Nil) {
		s.redisError(op, err)
	}
	mctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	v, err = read(mctx, s.master)
	if err != nil && !errors.Is(err, redis.Nil) {
		s.redisError(op, err)
		return "", s.masterError(mctx, op, err)
	}
	return v, err
}

// hash and verify run argon2 under hashSem: each run takes Hash.MemoryKiB,
// so unbounded parallel logins would be a memory exhaustion attack.
func (s *Store) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquireHash(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSem }()
	return hashPassword(password, s.o.Hash)
}

func (s *Store) verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := s.acquireHash(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashSem }()
	return verifyPassword(password, encoded)
}

func (s *Store) acquireHash(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for password hashing: %w", context.Cause(ctx))
	}
}
