package lab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RTT is the matrix of round-trip times between continents (wan-rtt.tsv).
type RTT struct {
	local time.Duration
	pairs map[[2]string]time.Duration
	known map[string]bool
}

// ParseRTT reads "from<TAB>to<TAB>rtt_ms" lines; '#' starts a comment and the
// pair "local local" is the last-mile RTT of a client to its own continent.
func ParseRTT(r io.Reader) (*RTT, error) {
	m := &RTT{pairs: map[[2]string]time.Duration{}, known: map[string]bool{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("rtt matrix line %d: want 3 tab-separated fields, got %d", line, len(f))
		}
		if f[0] == "from" {
			continue
		}
		ms, err := strconv.ParseFloat(f[2], 64)
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("rtt matrix line %d: rtt_ms %q is not a non-negative number", line, f[2])
		}
		d := time.Duration(ms * float64(time.Millisecond))
		if f[0] == "local" && f[1] == "local" {
			m.local = d
			continue
		}
		m.pairs[[2]string{f[0], f[1]}] = d
		m.pairs[[2]string{f[1], f[0]}] = d
		m.known[f[0]], m.known[f[1]] = true, true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read rtt matrix: %w", err)
	}
	return m, nil
}

// Knows reports whether the matrix has the continent.
func (m *RTT) Knows(continent string) bool { return m.known[continent] }

// Continents lists the matrix's continents, sorted.
func (m *RTT) Continents() []string {
	var out []string
	for c := range m.known {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Local is the last-mile RTT of a client to its own continent's nodes.
func (m *RTT) Local() time.Duration { return m.local }

// Between is the RTT between two different continents.
func (m *RTT) Between(a, b string) (time.Duration, bool) {
	d, ok := m.pairs[[2]string{a, b}]
	return d, ok
}

// PairRTT is the round trip the lab emulates between two members: none inside
// one data centre, the last mile within a continent, the matrix across.
func (m *RTT) PairRTT(a, b Member) time.Duration {
	if a.Continent == b.Continent {
		if a.Kind != KindClient && b.Kind != KindClient && a.Datacenter == b.Datacenter {
			return 0
		}
		return m.local
	}
	d, _ := m.Between(a.Continent, b.Continent)
	return d
}

// DefaultRTT is the matrix the lab emulates (wan-rtt.tsv): public median
// RTTs between one large cloud region per continent, which also orders the
// continents by nearness outside the lab (counterctl dns) and gives
// benchmarks their physical floors.
func DefaultRTT() (*RTT, error) { return ParseRTT(bytes.NewReader(defaultRTT)) }
