package wan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// maxPacket bounds one read from the TUN device (its MTU is 1500, but a
// larger buffer costs little and never truncates).
const maxPacket = 65535

// Router delays packets between a device's reads and its writes.
type Router struct {
	dev    io.ReadWriter
	delays Delayer
	now    func() time.Time
	log    *slog.Logger
}

// NewRouter makes a router over dev (usually a TUN device from OpenTUN).
func NewRouter(dev io.ReadWriter, delays Delayer, now func() time.Time, log *slog.Logger) *Router {
	return &Router{dev: dev, delays: delays, now: now, log: log}
}

type arrival struct {
	at  time.Time
	pkt []byte
}

// Run forwards packets until ctx ends or the device fails. One goroutine
// reads and stamps arrivals; this one owns the queue and a single timer set
// to the earliest release, so delays do not drift with load.
func (r *Router) Run(ctx context.Context) error {
	in := make(chan arrival, 4096)
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, maxPacket)
		for {
			n, err := r.dev.Read(buf)
			if err != nil {
				readErr <- err
				return
			}
			// Held packets get their own right-sized copy; the read buffer is reused.
			select {
			case in <- arrival{at: r.now(), pkt: append([]byte(nil), buf[:n]...)}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var q Queue
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	write := func(pkt []byte) {
		if _, err := r.dev.Write(pkt); err != nil {
			// A packet the kernel refuses (e.g. no route) is dropped, as a router would.
			r.log.Debug("write packet", "err", err)
		}
	}
	rearm := func() {
		next, ok := q.Next()
		if !ok {
			timer.Reset(time.Hour)
			return
		}
		timer.Reset(max(next.Sub(r.now()), 0))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return fmt.Errorf("read packet: %w", err)
		case a := <-in:
			d := r.delays.For(a.pkt)
			if d == 0 && q.Len() == 0 {
				write(a.pkt)
				continue
			}
			q.Push(a.at.Add(d), a.pkt)
			q.PopDue(r.now(), write)
			rearm()
		case <-timer.C:
			q.PopDue(r.now(), write)
			rearm()
		}
	}
}

// OpenTUN attaches to the TUN device name (created beforehand with
// `ip tuntap add dev NAME mode tun`), without packet information headers.
func OpenTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attach tun %s: %w", name, err)
	}
	// Non-blocking before NewFile: reads then park in the runtime poller and
	// Close wakes them, so shutdown never hangs on a read.
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// Serve opens the configured TUN device and runs a router on it until ctx ends.
func Serve(ctx context.Context, cfg *Config, log *slog.Logger) error {
	dev, err := OpenTUN(cfg.TUN)
	if err != nil {
		return err
	}
	defer dev.Close()
	if err := Realtime(); err != nil {
		log.Warn("no real-time scheduling; delays will jitter when the host is busy", "err", err)
	}
	log.Info("wan router running", "tun", cfg.TUN, "pairs", len(cfg.Pairs))
	var delays Delayer = NewDelays(cfg.Pairs)
	if a := cfg.Anycast; a != nil {
		ad := NewAnycastDelays(NewDelays(cfg.Pairs), a.Address)
		delays = ad
		// The kernel's choice can change at any time (a node withdraws):
		// the watcher reads the routes again on the kernel's notice of a
		// change, and every second in case a notice was lost.
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go WatchReceivers(wctx, *a, ad, time.Second, log)
		log.Info("anycast", "address", a.Address, "clients", len(a.Clients))
	}
	err = NewRouter(dev, delays, time.Now, log).Run(ctx)
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
