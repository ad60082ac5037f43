package daemon

import (
	"context"
	"errors"
	"log/slog"
)

type closingStore interface {
	Store
	Close() error
}

// openStore is wired to counter/daemon/store once it lands.
func openStore(ctx context.Context, cfg Config, log *slog.Logger, hub *Hub, m *Metrics) (closingStore, error) {
	return nil, errors.New("store not wired yet")
}
