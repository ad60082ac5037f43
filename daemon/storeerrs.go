package daemon

import (
	"errors"
	"fmt"
	"time"
)

// Placeholders until counter/daemon/store lands; then these become aliases of its errors.
var (
	errExists            = errors.New("login taken")
	errBadCredentials    = errors.New("bad credentials")
	errNoSession         = errors.New("no session")
	errMasterUnavailable = errors.New("master unavailable")
)

type tooSoonError struct{ RetryAfter time.Duration }

func (e *tooSoonError) Error() string { return fmt.Sprintf("too soon, retry after %v", e.RetryAfter) }
