package wan

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Anycast says how to delay packets to and from an address many nodes
// announce: which node gets a client's packets is the gateway of the route
// to Address in that client's kernel table (the lab's BIRD fills it, and
// the kernel forwards by it once the router writes a packet back).
type Anycast struct {
	Address netip.Addr    `json:"address"`
	Clients []ClientTable `json:"clients"`
}

// ClientTable is the kernel routing table a client's packets are routed by.
type ClientTable struct {
	Client netip.Addr `json:"client"`
	Table  int        `json:"table"`
}

// Delayer gives a packet's one-way delay.
type Delayer interface {
	For(pkt []byte) time.Duration
}

var (
	_ Delayer = Delays(nil)
	_ Delayer = (*AnycastDelays)(nil)
)

// AnycastDelays is Delays that also knows, per client, which node receives
// its anycast packets: a packet between a client and the anycast address
// takes the delay between that client and that node, both ways.
type AnycastDelays struct {
	base Delays
	addr netip.Addr
	// receivers maps a client to the node its anycast packets go to; it is
	// replaced whole (never changed in place) by Set.
	receivers atomic.Pointer[map[netip.Addr]netip.Addr]
}

// NewAnycastDelays starts with no receivers: until Set, anycast packets
// pass undelayed (the kernel has no route for them either).
func NewAnycastDelays(base Delays, addr netip.Addr) *AnycastDelays {
	d := &AnycastDelays{base: base, addr: addr}
	d.receivers.Store(&map[netip.Addr]netip.Addr{})
	return d
}

// Set replaces the client-to-node map; the caller must not change m after.
func (d *AnycastDelays) Set(m map[netip.Addr]netip.Addr) { d.receivers.Store(&m) }

// Receivers is the current client-to-node map (a copy).
func (d *AnycastDelays) Receivers() map[netip.Addr]netip.Addr { return maps.Clone(*d.receivers.Load()) }

// For is the packet's delay: by the node that receives it for anycast
// packets from a client (and their replies), by its addresses otherwise.
func (d *AnycastDelays) For(pkt []byte) time.Duration {
	src, dst, ok := Addrs(pkt)
	if !ok {
		return 0
	}
	switch {
	case dst == d.addr:
		if node, ok := (*d.receivers.Load())[src]; ok {
			return d.base[[2]netip.Addr{src, node}]
		}
	case src == d.addr:
		// A reply: from the node that now receives this client's packets.
		if node, ok := (*d.receivers.Load())[dst]; ok {
			return d.base[[2]netip.Addr{node, dst}]
		}
	}
	return d.base[[2]netip.Addr{src, dst}]
}

// KernelReceivers reads the IPv4 routes of the current network namespace
// (a netlink dump of every table) and returns, per client, the gateway of
// its table's route to a.Address. Clients whose table has no such route
// (no node announces, or only an unreachable fallback) are left out.
func KernelReceivers(a Anycast) (map[netip.Addr]netip.Addr, error) {
	b, err := syscall.NetlinkRIB(syscall.RTM_GETROUTE, syscall.AF_INET)
	if err != nil {
		return nil, fmt.Errorf("netlink route dump: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(b)
	if err != nil {
		return nil, fmt.Errorf("parse netlink route dump: %w", err)
	}
	byTable := map[int]netip.Addr{}
	for i := range msgs {
		m := &msgs[i]
		// struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
		if m.Header.Type != syscall.RTM_NEWROUTE || len(m.Data) < syscall.SizeofRtMsg || m.Data[1] != 32 {
			continue
		}
		table := int(m.Data[4])
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}
		var dst, gw netip.Addr
		for _, at := range attrs {
			switch at.Attr.Type {
			case syscall.RTA_DST:
				dst, _ = netip.AddrFromSlice(at.Value)
			case syscall.RTA_GATEWAY:
				gw, _ = netip.AddrFromSlice(at.Value)
			case syscall.RTA_TABLE:
				if len(at.Value) == 4 {
					table = int(binary.NativeEndian.Uint32(at.Value))
				}
			}
		}
		if dst == a.Address && gw.IsValid() {
			byTable[table] = gw
		}
	}
	out := map[netip.Addr]netip.Addr{}
	for _, c := range a.Clients {
		if gw, ok := byTable[c.Table]; ok {
			out[c.Client] = gw
		}
	}
	return out, nil
}

// WatchReceivers keeps d's receivers equal to the kernel's until ctx ends,
// logging each change (a client moving to another node). It reads the
// tables again as soon as the kernel reports a route change, and every
// interval besides (in case notifications were lost): with a poll alone,
// packets sent in the first interval after a move took the old node's
// delay while the kernel already forwarded them to the new one, so a ping
// right after a move could read the old node's RTT.
func WatchReceivers(ctx context.Context, a Anycast, d *AnycastDelays, every time.Duration, log *slog.Logger) {
	// Subscribed before the first read, so no change falls between the two.
	changed, err := routeChanges(ctx)
	if err != nil {
		log.Warn("no route change notifications: polling only", "every", every, "err", err)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		m, err := KernelReceivers(a)
		if err != nil {
			log.Warn("anycast routes", "err", err)
		} else if cur := *d.receivers.Load(); !maps.Equal(cur, m) {
			for c, n := range m {
				if cur[c] != n {
					log.Info("anycast receiver", "client", c, "node", n, "was", cur[c])
				}
			}
			for c := range cur {
				if _, ok := m[c]; !ok {
					log.Info("anycast receiver", "client", c, "node", "none", "was", cur[c])
				}
			}
			d.Set(m)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed: // nil (never ready) without a subscription
		}
	}
}

// routeChanges subscribes to the IPv4 route notifications of the calling
// thread's network namespace (the socket stays in the namespace it was
// made in, whichever thread reads it). A value on the channel means that
// routes changed, or that notifications were lost (the socket's buffer
// overflowed), since the last value was taken: read the tables again.
// Bursts (BIRD replacing a route) coalesce into one value.
func routeChanges(ctx context.Context) (<-chan struct{}, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_IPV4_ROUTE}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink bind to IPv4 route changes: %w", err)
	}
	// Non-blocking, so reads park in the runtime poller and Close ends them.
	f := os.NewFile(uintptr(fd), "netlink:route")
	ch := make(chan struct{}, 1)
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			// The messages themselves are not parsed: a dump of the
			// namespace's few routes is cheap and cannot get out of step.
			if _, err := f.Read(buf); err != nil && !errors.Is(err, unix.ENOBUFS) {
				return // closed: ctx ended
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch, nil
}
