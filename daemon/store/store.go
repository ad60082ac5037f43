// Package store keeps counterd's state in Redis: the counter, users with
// argon2id password hashes, hashed session tokens, and the once-per-24-h
// increment done by one Lua script on the master.
//
// Reads are served from memory: the store subscribes to the counter's
// channel on the local node (a replica relays the master's PUBLISH) and
// re-reads the value every PollInterval as a safety net.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors callers act on, checked with errors.Is.
var (
	ErrExists            = errors.New("login already taken")
	ErrBadCredentials    = errors.New("unknown login or wrong password") // same for both cases
	ErrNoSession         = errors.New("not logged in")
	ErrMasterUnavailable = errors.New("master unavailable")
	// ErrMasterMoving (with ErrMasterUnavailable): the master refused the
	// write for a reason a failover under way clears, so the write did not
	// run and can be sent again in seconds. READONLY: the node is a replica
	// now (a switchover demoted it while the press waited in its write
	// pause). NOREPLICAS: no replica has acknowledged it lately
	// (min-replicas-to-write): a just promoted master has that until its
	// replicas attach, a master cut off from them until the sentinels
	// promote another.
	ErrMasterMoving = errors.New("the master is moving")
	// ErrOutcomeUnknown: the press was sent but its answer never came back in
	// time, so it may have counted. Pressing again tells: the same press is
	// reported (Press.Earlier), or it counts now if it never ran.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrSessionEndQueued: the master did not take the logout; the session is
	// refused on this node and deleted on the master once it answers.
	ErrSessionEndQueued = errors.New("session end queued until the master answers")
)

// TooSoonError is returned by the increments when the user pressed within
// the last Window.
type TooSoonError struct{ RetryAfter time.Duration }

func (e *TooSoonError) Error() string {
	// Rounded up: "in 0s" would invite a press that is still refused.
	d := e.RetryAfter.Truncate(time.Second)
	if d < e.RetryAfter {
		d += time.Second
	}
	return fmt.Sprintf("already pressed: next press allowed in %s", d)
}

// FieldLastIncrement is the user-record hash field holding the master's
// Redis TIME of the user's last increment, in microseconds since the epoch.
const FieldLastIncrement = "last_inc_us"

// FieldUnconfirmed is the user-record field holding "<press µs>:<value>" of
// the user's last press while counterd has not confirmed that the press's
// answer reached it; see incrementScript.
const FieldUnconfirmed = "unconfirmed_value"

// Fields of a user record: the PHC-encoded argon2id hash, and the login as
// registered (records made before logins were folded have none).
const (
	fieldHash = "hash"
	fieldName = "name"
)

// Options configure Open. Zero values take the documented defaults.
type Options struct {
	LocalURL, MasterURL string        // MasterURL "" = LocalURL (unless Sentinels)
	Password            string        // used when a URL carries none
	CAFile              string        // PEM CAs trusted for rediss:// URLs; "" = system roots
	CertFile, KeyFile   string        // client certificate for rediss:// (Redis tls-auth-clients); "" = none
	KeyPrefix           string        // default DefaultKeyPrefix
	SessionTTL          time.Duration // default 30 days
	Window              time.Duration // one increment per user per Window; default 24h
	PollInterval        time.Duration // default 500ms
	Timeout             time.Duration // per command, default 500ms
	PoolSize            int           // connections per node, default 10
	Hash                HashParams    // zero = DefaultHashParams
	HashConcurrency     int           // argon2 runs at once (each takes Hash.MemoryKiB), default GOMAXPROCS
	Logger              *slog.Logger  // nil = discard
	// Sentinels (host:port) name the master MasterName that writes go to,
	// instead of MasterURL, with LocalURL's user, password and TLS; a press
	// then counts only once a replica they would promote first has it.
	Sentinels  []string
	MasterName string
	// OnChange is called from one goroutine, in order, with the first value
	// read and whenever the held value changes. If it is slow, intermediate
	// values are skipped: it always catches up with the latest value.
	OnChange     func(value int64)
	OnRedisError func(op string, err error) // metrics hook, may be nil
	Now          func() time.Time           // nil = time.Now
	// FoldLegacyLogins runs FoldLegacyLogins once in the background after
	// Open (counterd sets it; tests call the method themselves).
	FoldLegacyLogins bool
}

func (o *Options) setDefaults() {
	if o.MasterURL == "" {
		o.MasterURL = o.LocalURL
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 30 * 24 * time.Hour
	}
	if o.Window == 0 {
		o.Window = 24 * time.Hour
	}
	if o.PollInterval == 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 500 * time.Millisecond
	}
	if o.PoolSize == 0 {
		o.PoolSize = 10
	}
	if o.Hash == (HashParams{}) {
		o.Hash = DefaultHashParams
	}
	if o.HashConcurrency == 0 {
		o.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func (o *Options) validate() error {
	switch {
	case len(o.Sentinels) > 0 && o.MasterName == "":
		return errors.New("sentinels without a master name")
	case len(o.Sentinels) > 0 && o.MasterURL != o.LocalURL:
		return errors.New("sentinels and a master url: give one")
	case o.SessionTTL < time.Second:
		return fmt.Errorf("session ttl %s: must be at least 1s", o.SessionTTL)
	case o.Window < time.Second:
		return fmt.Errorf("window %s: must be at least 1s", o.Window)
	case o.PollInterval <= 0 || o.PollInterval > time.Second:
		return fmt.Errorf("poll interval %s: must be in (0, 1s]", o.PollInterval)
	case o.Timeout <= 0:
		return fmt.Errorf("timeout %s: must be positive", o.Timeout)
	case o.PoolSize < 1:
		return fmt.Errorf("pool size %d: must be positive", o.PoolSize)
	case o.HashConcurrency < 1:
		return fmt.Errorf("hash concurrency %d: must be positive", o.HashConcurrency)
	case o.Hash.Time < 1 || o.Hash.Time > maxTime || o.Hash.Threads < 1 ||
		o.Hash.MemoryKiB < 8*uint32(o.Hash.Threads) || o.Hash.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("hash parameters %+v: out of range", o.Hash)
	}
	return nil
}

// Store is counterd's Redis state. Its methods are safe for concurrent use.
type Store struct {
	o      Options
	local  *redis.Client // reads, subscription, poll
	master *redis.Client // writes; the same client as local when they are one node
	sent   *sentinels    // nil without Options.Sentinels
	down   atomic.Pointer[MasterDown]
	polls  atomic.Int64 // successful reads of the local node, for tests
	log    *slog.Logger

	hashSem   chan struct{} // bounds concurrent argon2 runs (memory)
	dummyHash string        // for unknown logins, so they cost what known ones do
	verifies  atomic.Int64  // argon2 verifies run, for tests

	held    held
	ends    *sessionEnds  // logouts the master has not taken yet
	kick    chan struct{} // wakes the OnChange notifier
	pollNow chan struct{} // asks the poller for an immediate read

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	confirms  sync.WaitGroup // presses' confirmations in flight (confirmLater)
	closeOnce sync.Once
}

// Open validates o and starts the subscriber and poller. It does not fail when
// Redis is down: Value reports a zero confirmed time until the first read.
func Open(ctx context.Context, o Options) (*Store, error) {
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	tlsm, err := loadTLS(o)
	if err != nil {
		return nil, err
	}
	localOpts, localRedacted, err := clientOptions(o.LocalURL, o.Password, tlsm, o)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	// Made now, not at the first unknown login, which would then take longer.
	dummy, err := hashPassword("not a real password", o.Hash)
	if err != nil {
		return nil, err
	}
	s := &Store{
		o:         o,
		dummyHash: dummy,
		log:       o.Logger,
		hashSem:   make(chan struct{}, o.HashConcurrency),
		kick:      make(chan struct{}, 1),
		pollNow:   make(chan struct{}, 1),
		ends:      newSessionEnds(maxPendingEnds),
	}
	s.held.current = make(chan struct{})
	s.local = redis.NewClient(localOpts)
	switch {
	case len(o.Sentinels) > 0:
		s.master = redis.NewFailoverClient(failoverOptions(localOpts, o))
		s.sent = newSentinels(localOpts, o)
		s.log.Info("redis master named by the sentinels", "sentinels", o.Sentinels, "master_name", o.MasterName)
	case o.MasterURL == o.LocalURL:
		s.master = s.local
	default:
		masterOpts, masterRedacted, err := clientOptions(o.MasterURL, o.Password, tlsm, o)
		if err != nil {
			_ = s.local.Close()
			return nil, fmt.Errorf("master: %w", err)
		}
		s.master = redis.NewClient(masterOpts)
		s.log.Info("redis master", "url", masterRedacted)
	}
	s.log.Info("redis local", "url", localRedacted)

	// The background loops outlive Open's ctx: they stop on Close.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Add(4)
	if s.sent != nil {
		s.wg.Add(1)
		go s.watchPromotion(bg)
	}
	go s.notify(bg)
	go s.subscribe(bg)
	go s.poll(bg)
	go s.endSessions(bg)
	if o.FoldLegacyLogins {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			moved, clashes, err := s.FoldLegacyLogins(bg)
			if err != nil {
				s.log.Warn("folding legacy logins failed; the next start tries again", "err", err)
				return
			}
			if moved+clashes > 0 {
				s.log.Info("folded legacy logins", "moved", moved, "clashes", clashes)
			}
		}()
	}
	return s, nil
}

// Close stops the background loops and closes the connections.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.confirms.Wait()
		err = s.local.Close()
		if s.master != s.local {
			err = errors.Join(err, s.master.Close())
		}
		if s.sent != nil {
			err = errors.Join(err, s.sent.close())
		}
	})
	return err
}

// Ping reports whether the local node answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	if err := s.local.Ping(ctx).Err(); err != nil {
		s.redisError("ping", err)
		return fmt.Errorf("ping local redis: %w", err)
	}
	return nil
}

// ValueKey is the counter's key.
func (s *Store) ValueKey() string { return s.o.KeyPrefix + "value" }

// UserKey is the hash holding the record of account id login (Account.ID,
// fields "hash", "name", FieldLastIncrement, FieldUnconfirmed). The increment
// script builds it the same way from a session's account id.
func (s *Store) UserKey(login string) string { return s.o.KeyPrefix + "user:" + login }

// SessionKey is the key holding the login of the session with the given token.
func (s *Store) SessionKey(token string) string {
	return s.o.KeyPrefix + "session:" + TokenHash(token)
}

// DefaultKeyPrefix begins every key (and the channel) when Options.KeyPrefix is empty.
const DefaultKeyPrefix = "counter:"

// Channel is where the increment script publishes each new value.
func (s *Store) Channel() string { return ChannelFor(s.o.KeyPrefix) }

// ChannelFor is the channel of a store whose keys begin with keyPrefix.
func ChannelFor(keyPrefix string) string { return keyPrefix + "events" }

func (s *Store) redisError(op string, err error) {
	if s.o.OnRedisError != nil && err != nil && !errors.Is(err, redis.Nil) {
		s.o.OnRedisError(op, err)
	}
}
