// Command loadgen drives counterd for `make bench`: increments from many
// distinct logged-in users, and many concurrent /events clients, against
// counterd and against the least server that fans a value out (floor.go).
//
//	go run ./daemon/internal/loadgen inc    -url http://127.0.0.1:8080 -redis redis://127.0.0.1:6391/0 -users 10000
//	go run ./daemon/internal/loadgen events -url http://127.0.0.1:8080 -redis redis://127.0.0.1:6391/0 -clients 10000 -pid PID
//	go run ./daemon/internal/loadgen floor  -listen 127.0.0.1:8099 -redis redis://127.0.0.1:6391/0   # the /events peer
//
// Users are registered straight in Redis through the store with cheap hash
// parameters: registering 10,000 users through argon2id at production cost
// would measure the password hash, not the increment path.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: loadgen inc|events|floor [flags]")
	}
	fs := flag.NewFlagSet("loadgen "+args[0], flag.ContinueOnError)
	var c common
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "counterd base URL")
	fs.StringVar(&c.redis, "redis", "redis://127.0.0.1:6379/0", "the Redis master counterd writes to")
	fs.StringVar(&c.cookie, "cookie", "counter_session", "session cookie name")
	switch args[0] {
	case "inc":
		var o incOptions
		o.common = &c
		fs.IntVar(&o.users, "users", 10000, "distinct logged-in users, one increment each")
		fs.IntVar(&o.conns, "conns", 64, "concurrent connections")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runInc(ctx, o, stdout)
	case "events":
		var o eventsOptions
		o.common = &c
		fs.IntVar(&o.clients, "clients", 10000, "concurrent /events clients")
		fs.IntVar(&o.rounds, "rounds", 5, "increments to time")
		fs.IntVar(&o.pid, "pid", 0, "counterd's pid, for its RSS")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runEvents(ctx, o, stdout)
	case "floor":
		var o floorOptions
		o.common = &c
		fs.StringVar(&o.listen, "listen", "127.0.0.1:8099", "address of the peer's event streams")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return runFloor(ctx, o, stdout)
	}
	return fmt.Errorf("unknown mode %q (want inc, events or floor)", args[0])
}

type common struct {
	url, redis, cookie string
}
