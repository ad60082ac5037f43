package daemon

import (
	"context"
	"time"

	"counter/daemon/store"
)

// The small views of the store (counter/daemon/store) that the handlers use.
type (
	// valueReader gives the value held in memory and when Redis last confirmed it.
	valueReader interface {
		Value() (v int64, confirmed time.Time)
	}
	// pinger checks the local Redis node.
	pinger interface {
		Ping(ctx context.Context) error
	}
	// accounts registers and checks users; logins are case-insensitive.
	accounts interface {
		Register(ctx context.Context, login, password string) error
		CheckPassword(ctx context.Context, login, password string) (store.Account, error)
	}
	// sessions maps opaque tokens to account ids (store.Account.ID).
	sessions interface {
		NewSession(ctx context.Context, login string) (token string, err error)
		SessionLogin(ctx context.Context, token string) (string, error)
		DeleteSession(ctx context.Context, token string) error
	}
	// incrementer adds one for a user (an account id) at most once per window.
	incrementer interface {
		IncrementSession(ctx context.Context, token string) (store.Press, error)
		IncrementLogin(ctx context.Context, login string) (store.Press, error)
	}
)

// Store is everything counterd needs from Redis; *store.Store satisfies it.
type Store interface {
	valueReader
	pinger
	accounts
	sessions
	incrementer
}
