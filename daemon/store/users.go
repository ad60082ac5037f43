package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"counter/internal/redisinfo"
)

// Account is a user as stored.
type Account struct {
	// ID names the user's record (UserKey) and its sessions: the folded
	// login, or the exact spelling of an account that clashed when logins
	// were first folded (see FoldLegacyLogins).
	ID string
	// Name is the login as registered, for display.
	Name string
}

// FoldLogin is the form under which a login is stored and compared, so that
// alice, Alice and ALICE are one user. Logins are ASCII (counterd admits
// [A-Za-z0-9._-]), where the Unicode case fold, and PRECIS UsernameCaseMapped
// with its NFC, is exactly ASCII lower case; other bytes are left as they are.
// The increment script's string.lower is the same mapping.
func FoldLogin(login string) string {
	b := []byte(login)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// registerScript creates a user under its folded key unless that key, or a
// legacy one spelled exactly as typed, exists.
//
//	KEYS[1] folded user key, KEYS[2] exact user key; ARGV hash, name
var registerScript = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], '` + fieldHash + `', ARGV[1], '` + fieldName + `', ARGV[2])
return 1
`

// Register creates login with an argon2id hash of password, on the master,
// under its folded form (ErrExists if any spelling of it is taken), keeping
// login as typed for display. It then waits (up to Timeout) until the
// master's replicas have it: logins are checked on the local node only (see
// CheckPassword), so a node that lagged would answer "wrong password" to a
// user who has just registered.
func (s *Store) Register(ctx context.Context, login, password string) error {
	if login == "" || password == "" {
		return errors.New("register: empty login or password")
	}
	encoded, err := s.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	var created *redis.Cmd
	var info *redis.StringCmd
	pctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	// EVAL, not EVALSHA: in a pipeline a NOSCRIPT could not fall back.
	_, err = s.master.Pipelined(pctx, func(p redis.Pipeliner) error {
		created = p.Eval(pctx, registerScript, []string{s.UserKey(FoldLogin(login)), s.UserKey(login)}, encoded, login)
		info = p.Info(pctx, "replication")
		return nil
	})
	if err != nil {
		s.redisError("register", err)
		return s.masterError(pctx, "register", err)
	}
	if n, _ := created.Int(); n != 1 {
		return ErrExists
	}
	s.waitReplicas(ctx, info.Val())
	return nil
}

// waitReplicas runs WAIT for the master's connected replicas, as its INFO
// replication lists them, for at most 3/4 of Timeout, so WAIT's own timeout
// answers before the command's deadline. Best effort: the user exists either
// way, and a lagging node catches up within its replication delay.
func (s *Store) waitReplicas(ctx context.Context, info string) {
	n, err := strconv.Atoi(redisinfo.Parse(info)["connected_slaves"])
	if err != nil || n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	ms := max(1, (s.o.Timeout * 3 / 4).Milliseconds())
	acked, err := s.master.Do(ctx, "WAIT", n, ms).Int()
	if err != nil {
		s.redisError("register wait", err)
		s.log.Warn("waiting for replicas after register failed", "err", err)
		return
	}
	if acked < n {
		s.log.Warn("registered user not yet on every replica", "replicas", n, "acked", acked)
	}
}

// Authenticate checks login's password; see CheckPassword.
func (s *Store) Authenticate(ctx context.Context, login, password string) error {
	_, err := s.CheckPassword(ctx, login, password)
	return err
}

// CheckPassword checks login's password, in any case, and returns the
// account. Unknown logins and wrong passwords both give ErrBadCredentials
// after the same work: one read on the local node and one argon2 verify
// (issue 13: an unknown login used to pay a round trip to the master that a
// known one did not, which told them apart). The master is asked only when
// the local node fails, whatever the login.
//
// A login spelled with capitals is first looked up as spelled, for an
// account that kept its spelling because it clashed when logins were folded;
// then folded. Both reads go in one pipeline, whether or not either exists.
func (s *Store) CheckPassword(ctx context.Context, login, password string) (Account, error) {
	if login == "" {
		return Account{}, ErrBadCredentials
	}
	ids := []string{login}
	if f := FoldLogin(login); f != login {
		ids = append(ids, f)
	}
	recs, err := readLocal(ctx, s, "authenticate", func(ctx context.Context, c *redis.Client) ([][]any, error) {
		cmds := make([]*redis.SliceCmd, len(ids))
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HMGet(ctx, s.UserKey(id), fieldHash, fieldName)
			}
			return nil
		})
		recs := make([][]any, len(cmds))
		for i, c := range cmds {
			recs[i] = c.Val()
		}
		return recs, err
	})
	if err != nil {
		return Account{}, err
	}
	var acct Account
	var encoded string
	for i, rec := range recs {
		if len(rec) != 2 {
			continue
		}
		if h, ok := rec[0].(string); ok {
			acct.ID, encoded = ids[i], h
			acct.Name, _ = rec[1].(string)
			break
		}
	}
	if acct.ID == "" {
		_, _ = s.verify(ctx, password, s.dummyHash)
		return Account{}, ErrBadCredentials
	}
	if acct.Name == "" {
		acct.Name = acct.ID // made before names were kept
	}
	ok, err := s.verify(ctx, password, encoded)
	if err != nil {
		return Account{}, fmt.Errorf("authenticate %q: %w", login, err)
	}
	if !ok {
		return Account{}, ErrBadCredentials
	}
	if needsRehash(encoded, s.o.Hash) {
		s.rehash(ctx, acct.ID, password, encoded)
	}
	return acct, nil
}

// readLocal runs read on the local node and, only when that fails (not when
// it misses), on the master.
func readLocal[T any](ctx context.Context, s *Store, op string, read func(context.Context, *redis.Client) (T, error)) (T, error) {
	lctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	v, err := read(lctx, s.local)
	cancel()
	if err == nil || s.master == s.local {
		s.redisError(op, err)
		return v, err
	}
	s.redisError(op, err)
	mctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	v, err = read(mctx, s.master)
	if err != nil {
		s.redisError(op, err)
		return v, s.masterError(mctx, op, err)
	}
	return v, nil
}

// rehash stores password under the current HashParams, if the record of
// account id still holds the old hash. Best effort: the login has already succeeded.
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

// NewSession starts a session for the account id login (Account.ID) on the
// master and returns its token. Redis stores only the token's sha256.
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
	s.verifies.Add(1)
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
