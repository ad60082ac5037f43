package dnswatch

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel asks one sentinel (the node's own) for the master, and whether
// it reaches a quorum of sentinels (SENTINEL CKQUORUM): a sentinel cut off
// from the majority may still name a master that has been replaced.
type Sentinel struct {
	Addr     string
	Name     string // the monitored master's name (the cluster)
	User     string
	Password string
	TLS      *tls.Config // nil: plain TCP (tests)
	Timeout  time.Duration
}

var _ MasterSource = (*Sentinel)(nil)

// Master is host:port of the master, or why it cannot be trusted.
func (s *Sentinel) Master(ctx context.Context) (string, error) {
	to := s.Timeout
	if to <= 0 {
		to = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 2*to)
	defer cancel()
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, Username: s.User, Password: s.Password, TLSConfig: s.TLS,
		MaxRetries: -1, DialTimeout: to, ReadTimeout: to, WriteTimeout: to, DisableIdentity: true})
	defer c.Close()
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
