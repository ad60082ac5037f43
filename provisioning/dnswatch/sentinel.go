package dnswatch

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel asks one sentinel (the node's own) for the master, and whether
// it reaches a quorum of sentinels (SENTINEL CKQUORUM): a sentinel cut off
// from the majority may still name a master that has been replaced. It
// keeps its connection between rounds: a TLS handshake a second with the
// local sentinel cost more CPU than the questions.
type Sentinel struct {
	Addr     string
	Name     string // the monitored master's name (the cluster)
	User     string
	Password string
	TLS      *tls.Config // nil: plain TCP (tests)
	Timeout  time.Duration

	mu     sync.Mutex
	client *redis.SentinelClient
}

var _ MasterSource = (*Sentinel)(nil)

func (s *Sentinel) timeout() time.Duration {
	if s.Timeout <= 0 {
		return time.Second
	}
	return s.Timeout
}

func (s *Sentinel) conn() *redis.SentinelClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		to := s.timeout()
		s.client = redis.NewSentinelClient(&redis.Options{Addr: s.Addr, Username: s.User, Password: s.Password, TLSConfig: s.TLS,
			MaxRetries: -1, PoolSize: 1, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, DisableIdentity: true})
	}
	return s.client
}

// Close closes the kept connection.
func (s *Sentinel) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil
	}
	err := s.client.Close()
	s.client = nil
	return err
}

// Master is host:port of the master, or why it cannot be trusted.
func (s *Sentinel) Master(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	c := s.conn()
	hp, err := c.GetMasterAddrByName(ctx, s.Name).Result()
	if err != nil {
		return "", fmt.Errorf("sentinel %s: %w", s.Addr, err)
	}
	if len(hp) != 2 {
		return "", fmt.Errorf("sentinel %s: master address %q", s.Addr, hp)
	}
	if err := c.CkQuorum(ctx, s.Name).Err(); err != nil {
		return "", fmt.Errorf("sentinel %s: ckquorum: %w", s.Addr, err)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}
