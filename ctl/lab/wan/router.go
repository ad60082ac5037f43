package wan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxPacket bounds one read from the TUN device (its MTU is 1500, but a
// larger buffer costs little and never truncates).
const maxPacket = 65535

// Router delays packets between a device's reads and its writes.
type Router struct {
	dev    Device
	delays Delayer
	now    func() time.Time
	log    *slog.Logger
}

// Device is what the router reads packets from and writes them back to: a
// TUN device from OpenTUN (a datagram socket in tests), used through its
// file descriptor, which must be non-blocking.
type Device interface {
	SyscallConn() (syscall.RawConn, error)
}

// NewRouter makes a router over dev.
func NewRouter(dev Device, delays Delayer, now func() time.Time, log *slog.Logger) *Router {
	return &Router{dev: dev, delays: delays, now: now, log: log}
}

// Tuning of Run's loop.
const (
	// idleWake bounds a wait for packets, so Run sees its context end.
	idleWake = 50 * time.Millisecond
	// maxBatch bounds the packets read in one wake before the due ones
	// are written, so a flood cannot hold back releases.
	maxBatch = 64
)

// Run forwards packets until ctx ends or the device fails.
//
// Everything happens on one locked OS thread, with system calls of its own:
// ppoll until the next release or a packet, read every packet that is
// ready, write every one that is due. The earlier loop (a reading goroutine,
// a channel and a runtime timer) cost 455 µs of CPU per packet on a 2-core
// machine whose hypervisor makes each wake-up dear: the lab's own Sentinel
// traffic then kept a core 60 to 80 % busy and `counterctl provision` took
// 25 minutes instead of 2.5 (docs/chaos.md, history, evening).
func (r *Router) Run(ctx context.Context) error {
	rc, err := r.dev.SyscallConn()
	if err != nil {
		return err
	}
	var loopErr error
	// Read holds the descriptor open for the whole loop; the loop ignores
	// the runtime poller and reports done at once, so Read returns.
	if err := rc.Read(func(fd uintptr) bool {
		loopErr = r.loop(ctx, int(fd))
		return true
	}); err != nil {
		return err
	}
	return loopErr
}

func (r *Router) loop(ctx context.Context, fd int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var q Queue
	buf := make([]byte, maxPacket)
	write := func(pkt []byte) {
		if _, err := unix.Write(fd, pkt); err != nil {
			// A packet the kernel refuses (e.g. no route) is dropped, as a router would.
			r.log.Debug("write packet", "err", err)
		}
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for ctx.Err() == nil {
		wait := idleWake
		if next, ok := q.Next(); ok {
			wait = min(wait, max(next.Sub(r.now()), 0))
		}
		ts := unix.NsecToTimespec(wait.Nanoseconds())
		pfd[0].Revents = 0
		if _, err := unix.Ppoll(pfd, &ts, nil); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll packets: %w", err)
		}
		if ev := pfd[0].Revents; ev&unix.POLLIN == 0 && ev&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
			return fmt.Errorf("read packet: device gone (poll events %#x)", ev)
		}
		for i := 0; i < maxBatch && pfd[0].Revents&unix.POLLIN != 0; i++ {
			n, err := unix.Read(fd, buf)
			if err == unix.EAGAIN || err == unix.EINTR {
				break
			}
			if err != nil {
				return fmt.Errorf("read packet: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("read packet: %w", io.EOF)
			}
			at, pkt := r.now(), buf[:n]
			d := r.delays.For(pkt)
			if d == 0 && q.Len() == 0 {
				write(pkt)
				continue
			}
			// Held packets get their own right-sized copy; the read buffer is reused.
			q.Push(at.Add(d), append([]byte(nil), pkt...))
		}
		q.PopDue(r.now(), write)
	}
	return nil
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
	// Non-blocking: Router.Run reads until the device has nothing left
	// (EAGAIN) and waits in its own ppoll, never in a read.
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
