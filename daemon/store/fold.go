package store

import (
	"context"
	"fmt"
	"strings"
)

// foldScript moves a user record to its folded key unless that is taken.
//
//	KEYS[1] old key, KEYS[2] folded key; ARGV[1] the old spelling (the name)
//
// Returns 0 gone meanwhile, 1 moved, 2 clash (left where it is).
var foldScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSETNX', KEYS[2], '` + fieldName + `', ARGV[1])
return 1
`

// FoldLegacyLogins moves the records of users registered before logins were
// folded (keys spelled with capitals) to their folded keys, on the master,
// keeping the old spelling as the name. When the folded key is taken (alice
// and Alice both registered), the already folded account keeps it and the
// other keeps its key: it logs in by its exact spelling only. Sessions need no
// change: the increment script finds a moved record by its folded key. Safe
// to run from several counterds at once; it scans every user key.
func (s *Store) FoldLegacyLogins(ctx context.Context) (moved, clashes int, err error) {
	prefix := s.UserKey("")
	var cursor uint64
	for {
		var keys []string
		sctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
		keys, cursor, err = s.master.Scan(sctx, cursor, prefix+"*", 1000).Result()
		cancel()
		if err != nil {
			s.redisError("fold logins", err)
			return moved, clashes, fmt.Errorf("fold logins: %w", err)
		}
		for _, key := range keys {
			id, ok := strings.CutPrefix(key, prefix)
			if !ok || FoldLogin(id) == id {
				continue
			}
			ectx, cancel := context.WithTimeout(ctx, s.o.Timeout)
			r, err := s.master.Eval(ectx, foldScript, []string{key, s.UserKey(FoldLogin(id))}, id).Int()
			cancel()
			if err != nil {
				s.redisError("fold logins", err)
				return moved, clashes, fmt.Errorf("fold login %q: %w", id, err)
			}
			switch r {
			case 1:
				moved++
			case 2:
				clashes++
				s.log.Warn("login clashes with another in any case; it keeps its exact spelling",
					"login", id, "other", FoldLogin(id))
			}
		}
		if cursor == 0 {
			return moved, clashes, nil
		}
	}
}
