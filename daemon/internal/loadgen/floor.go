package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"counter/daemon/store"
)

type floorOptions struct {
	*common
	listen string
}

// floorHead answers every request: the least an event stream can begin with.
const floorHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"

// runFloor is the peer of counterd's /events: the least a server can do to fan
// a value out to many streams. It answers any request with floorHead and writes
// each value published on the counter's channel to every connection, in turn,
// from one goroutine: no HTTP library, no deadlines, no state per client. The
// events run times it exactly as it times counterd, so the two figures of one
// bench run say how much of the delivery time is counterd's and how much is the
// kernel's (on loopback each write also runs the receiving client's TCP path).
func runFloor(ctx context.Context, o floorOptions, stdout io.Writer) error {
	opt, err := redis.ParseURL(o.redis)
	if err != nil {
		return fmt.Errorf("redis URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ps := rdb.Subscribe(ctx, store.ChannelFor(store.DefaultKeyPrefix))
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	context.AfterFunc(ctx, func() { ln.Close() })

	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Skip the request: its head ends with an empty line.
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						c.Close()
						return
					}
					if strings.TrimRight(line, "\r\n") == "" {
						break
					}
				}
				if _, err := io.WriteString(c, floorHead); err != nil {
					c.Close()
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}()
		}
	}()
	fmt.Fprintf(stdout, "floor: serving on %s\n", ln.Addr())
	for {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receive: %w", err)
		}
		msg := []byte("data: " + m.Payload + "\n\n")
		mu.Lock()
		all := conns
		mu.Unlock()
		failed := map[net.Conn]bool{}
		for _, c := range all {
			if _, err := c.Write(msg); err != nil {
				failed[c] = true
			}
		}
		if len(failed) > 0 { // clients of an earlier run, gone
			mu.Lock()
			conns = slices.DeleteFunc(conns, func(c net.Conn) bool { return failed[c] })
			mu.Unlock()
			for c := range failed {
				c.Close()
			}
		}
	}
}
