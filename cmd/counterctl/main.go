// Command counterctl provisions, wires and checks a counter cluster.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"counter/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := ctl.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
