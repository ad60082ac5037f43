// Package daemon is counterd: the counter page and API served from Redis.
package daemon

import (
	"context"
	"errors"
	"io"
)

// Run is counterd's main: parse configuration from args and getenv, serve until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return errors.New("not implemented yet")
}
