package geobench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i)
	}
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"p50 of 1..100", hundred, 50, 50},
		{"p99 of 1..100", hundred, 99, 99},
		{"p100 of 1..100", hundred, 100, 100},
		{"p99 of few is the largest", []float64{3, 1, 2}, 99, 3},
		{"one sample", []float64{7}, 50, 7},
	}
	for _, tt := range tests {
		if got := Percentile(tt.xs, tt.p); got != tt.want {
			t.Errorf("%s: Percentile(%v) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile(nil) = %v, want NaN", got)
	}
}

// TestPropagation: a press counts when the last other page showed its value
// or a later one (pages coalesce bursts); one never shown is missed; one
// given a value the pages showed before it was sent went backwards.
func TestPropagation(t *testing.T) {
	ms := int64(time.Millisecond)
	from := ProbeResult{Presses: []Press{{Value: 5, SentNS: 1000 * ms}, {Value: 9, SentNS: 2000 * ms},
		{Value: 6, SentNS: 1600 * ms}}} // 6 was on both pages by 1250 and 1500 ms
	others := []ProbeResult{
		{Events: []Event{{Value: 4, AtNS: 900 * ms}, {Value: 5, AtNS: 1100 * ms}, {Value: 7, AtNS: 1500 * ms}}},
		{Events: []Event{{Value: 6, AtNS: 1250 * ms}, {Value: 9, AtNS: 2300 * ms}}}, // 6: coalesced past 5
	}
	got, missed, backwards := Propagation(from, others)
	if len(got) != 1 || got[0] != 250 || missed != 1 || backwards != 1 {
		t.Errorf("Propagation = %v, missed %d, backwards %d; want [250] (the later page), missed 1 (9 never shown on the first), backwards 1 (6)",
			got, missed, backwards)
	}
}

func TestReadEvents(t *testing.T) {
	stream := "retry: 2000\ndata: 41\n\n:\n\nevent: stale\ndata: 1\n\ndata: 42\n\n"
	var got []int64
	at := time.Unix(0, 0)
	err := readEvents(strings.NewReader(stream), func() time.Time { at = at.Add(time.Millisecond); return at }, func(e Event) {
		got = append(got, e.Value)
	})
	if err != nil || len(got) != 2 || got[0] != 41 || got[1] != 42 {
		t.Errorf("readEvents = %v, %v; want [41 42] (the stale event and the heartbeat skipped)", got, err)
	}
	if err := readEvents(strings.NewReader("data: x\n\n"), time.Now, func(Event) {}); err == nil {
		t.Error("readEvents of a non-numeric value: no error")
	}
}
