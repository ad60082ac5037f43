package wan

import (
	"slices"
	"testing"
	"time"
)

func TestQueueReleasesInTimeThenArrivalOrder(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name string
		push []struct {
			at  int
			pkt string
		}
		now  int
		want []string
		left int
	}{
		{
			name: "earliest first regardless of push order",
			push: []struct {
				at  int
				pkt string
			}{{30, "c"}, {10, "a"}, {20, "b"}},
			now: 30, want: []string{"a", "b", "c"},
		},
		{
			name: "equal release keeps arrival order",
			push: []struct {
				at  int
				pkt string
			}{{10, "1"}, {10, "2"}, {5, "0"}, {10, "3"}},
			now: 10, want: []string{"0", "1", "2", "3"},
		},
		{
			name: "nothing before its time",
			push: []struct {
				at  int
				pkt string
			}{{10, "a"}, {45, "late"}},
			now: 44, want: []string{"a"}, left: 1,
		},
		{
			name: "empty",
			now:  100, want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q Queue
			for _, p := range tt.push {
				q.Push(ms(p.at), []byte(p.pkt))
			}
			var got []string
			q.PopDue(ms(tt.now), func(pkt []byte) { got = append(got, string(pkt)) })
			if !slices.Equal(got, tt.want) {
				t.Errorf("PopDue(%dms) = %q, want %q", tt.now, got, tt.want)
			}
			if q.Len() != tt.left {
				t.Errorf("Len() = %d after PopDue, want %d", q.Len(), tt.left)
			}
		})
	}
}

func TestQueueNext(t *testing.T) {
	var q Queue
	if _, ok := q.Next(); ok {
		t.Fatal("Next() on an empty queue reports a packet")
	}
	t0 := time.Unix(0, 0)
	q.Push(t0.Add(50*time.Millisecond), nil)
	q.Push(t0.Add(20*time.Millisecond), nil)
	if got, _ := q.Next(); !got.Equal(t0.Add(20 * time.Millisecond)) {
		t.Errorf("Next() = %v, want the earliest release %v", got, t0.Add(20*time.Millisecond))
	}
}

// BenchmarkQueue measures holding and releasing one packet with 1000 held.
func BenchmarkQueue(b *testing.B) {
	var q Queue
	t0 := time.Unix(0, 0)
	pkt := make([]byte, 1500)
	for i := range 1000 {
		q.Push(t0.Add(time.Duration(i)*time.Microsecond), pkt)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		q.Push(t0.Add(time.Duration(1000+i)*time.Microsecond), pkt)
		q.PopDue(t0.Add(time.Duration(i)*time.Microsecond), func([]byte) {})
	}
}
