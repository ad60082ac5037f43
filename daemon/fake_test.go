package daemon

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"counter/daemon/store"
)

// fakeStore is an in-memory Store for handler tests; the integration tests use Redis.
type fakeStore struct {
	mu         sync.Mutex
	now        func() time.Time
	value      int64
	confirmed  time.Time
	users      map[string]string
	sessions   map[string]string
	last       map[string]time.Time
	masterDown bool
	pressErr   error // what a press returns, if set
	// loseAnswers: presses count but their answer is lost (ErrOutcomeUnknown),
	// as with a master slower than the timeout; unconfirmed holds them.
	loseAnswers bool
	unconfirmed map[string]store.Press
	pingErr     error
	onChange    func(int64)
	tokens      int
}

var _ Store = (*fakeStore)(nil)

func newFakeStore(now func() time.Time) *fakeStore {
	return &fakeStore{now: now, confirmed: now(), users: map[string]string{},
		sessions: map[string]string{}, last: map[string]time.Time{}, unconfirmed: map[string]store.Press{}}
}

func (f *fakeStore) Value() (int64, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.value, f.confirmed
}

func (f *fakeStore) Ping(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

func (f *fakeStore) Register(_ context.Context, login, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.masterDown {
		return errMasterUnavailable
	}
	if _, ok := f.users[store.FoldLogin(login)]; ok {
		return errExists
	}
	f.users[store.FoldLogin(login)] = password
	return nil
}

func (f *fakeStore) CheckPassword(_ context.Context, login, password string) (store.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := store.FoldLogin(login)
	if p, ok := f.users[id]; !ok || p != password {
		return store.Account{}, errBadCredentials
	}
	return store.Account{ID: id, Name: id}, nil
}

func (f *fakeStore) NewSession(_ context.Context, login string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.masterDown {
		return "", errMasterUnavailable
	}
	f.tokens++
	t := "tok" + strconv.Itoa(f.tokens)
	f.sessions[t] = login
	return t, nil
}

func (f *fakeStore) SessionLogin(_ context.Context, token string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if l, ok := f.sessions[token]; ok {
		return l, nil
	}
	return "", errNoSession
}

func (f *fakeStore) DeleteSession(_ context.Context, token string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.masterDown {
		return fmt.Errorf("delete session: %w: %w", errSessionEndQueued, errMasterUnavailable)
	}
	if _, ok := f.sessions[token]; !ok {
		return errNoSession
	}
	delete(f.sessions, token)
	return nil
}

func (f *fakeStore) IncrementSession(ctx context.Context, token string) (store.Press, error) {
	login, err := f.SessionLogin(ctx, token)
	if err != nil {
		return store.Press{}, err
	}
	return f.IncrementLogin(ctx, login)
}

func (f *fakeStore) IncrementLogin(_ context.Context, login string) (store.Press, error) {
	f.mu.Lock()
	if f.masterDown {
		f.mu.Unlock()
		return store.Press{}, errMasterUnavailable
	}
	if f.pressErr != nil {
		f.mu.Unlock()
		return store.Press{}, f.pressErr
	}
	now := f.now()
	if t, ok := f.last[login]; ok && now.Sub(t) < 24*time.Hour {
		p, lost := f.unconfirmed[login]
		delete(f.unconfirmed, login)
		f.mu.Unlock()
		if lost {
			p.Earlier = true
			return p, nil
		}
		return store.Press{}, &tooSoonError{RetryAfter: t.Add(24 * time.Hour).Sub(now)}
	}
	f.last[login] = now
	f.value++
	p, onChange := store.Press{Value: f.value, At: now}, f.onChange
	lose := f.loseAnswers
	if lose {
		f.unconfirmed[login] = p
	}
	f.mu.Unlock()
	if onChange != nil {
		onChange(p.Value)
	}
	if lose {
		return store.Press{}, fmt.Errorf("increment: %w: %w", errOutcomeUnknown, errMasterUnavailable)
	}
	return p, nil
}
