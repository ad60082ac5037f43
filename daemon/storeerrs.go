package daemon

import "counter/daemon/store"

// The store's errors, under the names the status mapping (errors.go) uses.
var (
	errExists            = store.ErrExists
	errBadCredentials    = store.ErrBadCredentials
	errNoSession         = store.ErrNoSession
	errMasterUnavailable = store.ErrMasterUnavailable
	errMasterMoving      = store.ErrMasterMoving
	errOutcomeUnknown    = store.ErrOutcomeUnknown
	errSessionEndQueued  = store.ErrSessionEndQueued
)

type tooSoonError = store.TooSoonError
