package wan

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"time"
)

// Config is what the lab hands the router process (as a JSON file).
type Config struct {
	TUN   string `json:"tun"`
	Pairs []Pair `json:"pairs"`
	// Anycast, when set, delays packets to and from the anycast address by
	// the node that receives them.
	Anycast *Anycast `json:"anycast,omitempty"`
}

// Pair is the one-way delay between two addresses, both directions.
type Pair struct {
	A      netip.Addr `json:"a"`
	B      netip.Addr `json:"b"`
	OneWay Duration   `json:"one_way"`
}

// Duration is a time.Duration that reads and writes as "45ms" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// LoadConfig reads a router configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read router config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse router config %s: %w", path, err)
	}
	if c.TUN == "" {
		return nil, fmt.Errorf("router config %s: tun is empty", path)
	}
	return &c, nil
}

// Delays looks up a packet's one-way delay by its addresses.
type Delays map[[2]netip.Addr]time.Duration

// NewDelays indexes the pairs of a configuration in both directions.
func NewDelays(pairs []Pair) Delays {
	d := make(Delays, 2*len(pairs))
	for _, p := range pairs {
		d[[2]netip.Addr{p.A, p.B}] = time.Duration(p.OneWay)
		d[[2]netip.Addr{p.B, p.A}] = time.Duration(p.OneWay)
	}
	return d
}

// For is the delay of an IP packet; packets between unknown addresses (the
// host, the outside world) and non-IP data pass without delay.
func (d Delays) For(pkt []byte) time.Duration {
	src, dst, ok := Addrs(pkt)
	if !ok {
		return 0
	}
	return d[[2]netip.Addr{src, dst}]
}

// Addrs reads the source and destination of an IPv4 or IPv6 packet.
func Addrs(pkt []byte) (src, dst netip.Addr, ok bool) {
	if len(pkt) < 1 {
		return src, dst, false
	}
	switch pkt[0] >> 4 {
	case 4:
		if len(pkt) < 20 {
			return src, dst, false
		}
		src = netip.AddrFrom4([4]byte(pkt[12:16]))
		dst = netip.AddrFrom4([4]byte(pkt[16:20]))
		return src, dst, true
	case 6:
		if len(pkt) < 40 || binary.BigEndian.Uint16(pkt[4:6]) > uint16(len(pkt)) {
			return src, dst, false
		}
		src = netip.AddrFrom16([16]byte(pkt[8:24]))
		dst = netip.AddrFrom16([16]byte(pkt[24:40]))
		return src, dst, true
	}
	return src, dst, false
}
