package switchover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ResetSentinels makes the sentinels forget a node taken out of the
// cluster: SENTINEL RESET on the sentinel of every node but gone, one at a
// time, each time waiting until that sentinel has found the others again
// (the other sentinels, every remaining replica), so a quorum is never
// blind at once. gone's Redis and Sentinel must be stopped first, or they
// are found again.
func ResetSentinels(ctx context.Context, a Asker, c Cluster, gone string, within time.Duration, out io.Writer) error {
	r := &runner{a: a, c: c}
	r.o.defaults()
	r.o.Out = out
	var rest []string
	for _, n := range c.Nodes {
		if n.Name != gone {
			rest = append(rest, n.Name)
		}
	}
	var errs []error
	for _, s := range rest {
		if _, err := r.sentinel(ctx, s, "SENTINEL", "RESET", c.Name); err != nil {
			errs = append(errs, err)
			r.say("SENTINEL RESET %s on %s: %v", c.Name, s, err)
			continue
		}
		err := poll(ctx, within, func(ctx context.Context) error {
			v, err := r.sentinel(ctx, s, "SENTINEL", "MASTER", c.Name)
			if err != nil {
				return err
			}
			m, err := asPairs(v)
			if err != nil {
				return err
			}
			wantS, wantR := fmt.Sprint(len(rest)-1), fmt.Sprint(len(rest)-1)
			if m["num-other-sentinels"] != wantS || m["num-slaves"] != wantR {
				return fmt.Errorf("sentinel on %s knows %s other sentinels and %s replicas, want %s and %s",
					s, m["num-other-sentinels"], m["num-slaves"], wantS, wantR)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			r.say("SENTINEL RESET %s on %s: %v", c.Name, s, err)
			continue
		}
		r.say("SENTINEL RESET %s on %s: it knows the %d other nodes again, not %s", c.Name, s, len(rest)-1, gone)
	}
	return errors.Join(errs...)
}
