package dnsupdate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Store is the zone as Publish needs it; *Server is the real one.
type Store interface {
	Read(ctx context.Context, zone string) (Zone, error)
	Apply(ctx context.Context, z Zone, p Plan) error
}

var _ Store = (*Server)(nil)

// Attempts bounds how often Publish re-reads the zone after a concurrent change.
const Attempts = 4

// Publish brings the server to d: read, diff, one update; on a concurrent
// change (the SOA prerequisite fails) read again and retry, Attempts times
// at most. It returns the plan it applied (Empty when nothing changed).
func Publish(ctx context.Context, s Store, d Desired, log *slog.Logger) (Plan, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var last error
	for attempt := 1; attempt <= Attempts; attempt++ {
		z, err := s.Read(ctx, d.Zone)
		if err != nil {
			return Plan{}, err
		}
		p := Diff(z, d)
		if p.Empty() {
			return p, nil
		}
		err = s.Apply(ctx, z, p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrPrerequisite) {
			return p, err
		}
		last = err
		log.Info("zone changed while publishing; reading it again", "zone", d.Zone, "serial", z.Serial, "attempt", attempt)
	}
	return Plan{}, fmt.Errorf("publish %s: gave up after %d attempts: %w", d.Zone, Attempts, last)
}
