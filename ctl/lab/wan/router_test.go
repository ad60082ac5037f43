package wan

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"counter/internal/testutil"
)

// ipv4 is a minimal IPv4 header from src to dst carrying one payload byte.
func ipv4(src, dst string, payload byte) []byte {
	p := make([]byte, 21)
	p[0] = 0x45
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	p[20] = payload
	return p
}

func TestDelaysFor(t *testing.T) {
	d := NewDelays([]Pair{{A: netip.MustParseAddr("10.0.1.2"), B: netip.MustParseAddr("10.0.2.2"), OneWay: Duration(45 * time.Millisecond)}})
	v6 := make([]byte, 40)
	v6[0] = 0x60
	tests := []struct {
		name string
		pkt  []byte
		want time.Duration
	}{
		{"forward", ipv4("10.0.1.2", "10.0.2.2", 0), 45 * time.Millisecond},
		{"reverse", ipv4("10.0.2.2", "10.0.1.2", 0), 45 * time.Millisecond},
		{"unknown pair passes at once", ipv4("10.0.1.2", "192.0.2.9", 0), 0},
		{"truncated header", []byte{0x45, 0, 0}, 0},
		{"ipv6 unknown pair", v6, 0},
		{"not ip", []byte{0x10, 1, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.For(tt.pkt); got != tt.want {
				t.Errorf("For(%x) = %v, want %v", tt.pkt, got, tt.want)
			}
		})
	}
}

// pairDev is the router's end of a datagram socket pair: the test writes
// packets into the other end and records when each comes back out of it.
type pairDev struct {
	dev  *os.File // the router's end
	peer *os.File // the test's end
	mu   sync.Mutex
	out  []sent
}

type sent struct {
	at  time.Time
	pkt []byte
}

func newPairDev(t *testing.T) *pairDev {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &pairDev{dev: os.NewFile(uintptr(fds[0]), "router"), peer: os.NewFile(uintptr(fds[1]), "peer")}
	go func() {
		buf := make([]byte, maxPacket)
		for {
			n, err := p.peer.Read(buf)
			if err != nil {
				return
			}
			p.mu.Lock()
			p.out = append(p.out, sent{time.Now(), append([]byte(nil), buf[:n]...)})
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { p.peer.Close(); p.dev.Close() })
	return p
}

func (p *pairDev) send(t *testing.T, pkt []byte) {
	t.Helper()
	if _, err := p.peer.Write(pkt); err != nil {
		t.Fatal(err)
	}
}

func (p *pairDev) sent() []sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sent(nil), p.out...)
}

func TestRouterHoldsEachPacketForItsPair(t *testing.T) {
	a, b, c := "10.0.1.2", "10.0.2.2", "10.0.3.2"
	delays := NewDelays([]Pair{
		{A: netip.MustParseAddr(a), B: netip.MustParseAddr(b), OneWay: Duration(80 * time.Millisecond)},
		{A: netip.MustParseAddr(a), B: netip.MustParseAddr(c), OneWay: Duration(20 * time.Millisecond)},
	})
	dev := newPairDev(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- NewRouter(dev.dev, delays, time.Now, slog.New(slog.DiscardHandler)).Run(ctx) }()

	start := time.Now()
	dev.send(t, ipv4(a, b, 1))           // 80 ms
	dev.send(t, ipv4(a, c, 2))           // 20 ms: overtakes the first
	dev.send(t, ipv4(a, "192.0.2.1", 3)) // not in the lab: at once
	want := map[byte]time.Duration{1: 80 * time.Millisecond, 2: 20 * time.Millisecond, 3: 0}
	// Wait for the three, or 5 s; the count is checked below.
	_ = testutil.Wait(5*time.Second, func(context.Context) error {
		if n := len(dev.sent()); n < 3 {
			return fmt.Errorf("%d sent", n)
		}
		return nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	got := dev.sent()
	if len(got) != 3 {
		t.Fatalf("router wrote %d packets, want 3", len(got))
	}
	if order := []byte{got[0].pkt[20], got[1].pkt[20], got[2].pkt[20]}; order[0] != 3 || order[1] != 2 || order[2] != 1 {
		t.Errorf("release order = %v, want [3 2 1] (shortest delay first)", order)
	}
	for _, s := range got {
		id := s.pkt[20]
		held := s.at.Sub(start)
		// Never early; late by at most a scheduler hiccup.
		if held < want[id] || held > want[id]+15*time.Millisecond {
			t.Errorf("packet %d held %v, want %v (+15ms at most)", id, held, want[id])
		}
	}
}
