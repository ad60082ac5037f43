package geobench

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// pingLost is how long an echo may take before it counts as lost.
const pingLost = 2 * time.Second

// ping measures the lab's own round trip to the node while everything else
// runs: ICMP echo, answered by the node's kernel, so the delay router and
// the host's CPU queueing are in it and counterd is not. It is the peer the
// page figures are read against: a tail the echo has too is the lab's, not
// the product's.
func (p *Probe) ping(ctx context.Context, every time.Duration) {
	if p.cfg.NodeAddr == "" || every <= 0 {
		return
	}
	dst, err := net.ResolveIPAddr("ip4", p.cfg.NodeAddr)
	if err != nil {
		p.fail("ping", err)
		return
	}
	// A raw socket (the probe runs as root in its own namespace): Debian's
	// ping_group_range leaves unprivileged ICMP sockets off.
	conn, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		p.fail("ping", fmt.Errorf("open an ICMP socket: %w", err))
		return
	}
	defer conn.Close()
	id := os.Getpid() & 0xffff

	var mu sync.Mutex
	sent := map[int]time.Time{} // in flight, by sequence number
	lost := 0                   // answered too late
	sending := true
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			// Returns on the deadline set once sending ended, or on close.
			n, from, err := conn.ReadFrom(buf)
			now := time.Now()
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(ipv4.ICMPTypeEchoReply.Protocol(), buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply || from.String() != dst.String() {
				continue
			}
			echo, ok := m.Body.(*icmp.Echo)
			if !ok || echo.ID != id {
				continue
			}
			mu.Lock()
			at, ok := sent[echo.Seq]
			delete(sent, echo.Seq)
			switch {
			case !ok:
			case now.Sub(at) > pingLost:
				lost++
			default:
				p.mu.Lock()
				p.res.Ping = append(p.res.Ping, ms(now.Sub(at)))
				p.mu.Unlock()
			}
			last := !sending && len(sent) == 0
			mu.Unlock()
			if last {
				return
			}
		}
	}()

	tick := time.NewTicker(every)
	defer tick.Stop()
	for seq := 0; ctx.Err() == nil; seq = (seq + 1) & 0xffff {
		select {
		case <-ctx.Done():
			continue
		case <-tick.C:
		}
		b, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("geobench")}}).Marshal(nil)
		if err != nil {
			p.fail("ping", err)
			return
		}
		mu.Lock()
		sent[seq] = time.Now()
		mu.Unlock()
		if _, err := conn.WriteTo(b, dst); err != nil {
			p.fail("ping", err)
		}
	}
	// The last echoes get their time to come back; what has not is lost.
	mu.Lock()
	sending = false
	inFlight := len(sent) > 0
	mu.Unlock()
	if inFlight {
		_ = conn.SetReadDeadline(time.Now().Add(pingLost))
	} else {
		conn.Close()
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.PingLost = lost + len(sent)
}
