// Package wan is the lab's WAN emulator: a user-space delay router that reads
// IP packets from a TUN device, holds each for the one-way delay of its
// source/destination pair and writes it back for the kernel to forward.
//
// It exists because the kernel of the lab machines has no netem qdisc.
package wan

import (
	"container/heap"
	"time"
)

// Queue orders held packets by release time. Packets with equal release
// times leave in arrival order, so a flow is never reordered by the router.
type Queue struct {
	h   pktHeap
	seq uint64
}

type held struct {
	release time.Time
	seq     uint64
	pkt     []byte
}

type pktHeap []held

func (h pktHeap) Len() int { return len(h) }
func (h pktHeap) Less(i, j int) bool {
	if h[i].release.Equal(h[j].release) {
		return h[i].seq < h[j].seq
	}
	return h[i].release.Before(h[j].release)
}
func (h pktHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pktHeap) Push(x any)   { *h = append(*h, x.(held)) }
func (h *pktHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = held{}
	*h = old[:len(old)-1]
	return x
}

// Push holds pkt until release.
func (q *Queue) Push(release time.Time, pkt []byte) {
	q.seq++
	heap.Push(&q.h, held{release: release, seq: q.seq, pkt: pkt})
}

// Len is the number of held packets.
func (q *Queue) Len() int { return q.h.Len() }

// Next is the earliest release time; ok is false when nothing is held.
func (q *Queue) Next() (release time.Time, ok bool) {
	if q.h.Len() == 0 {
		return time.Time{}, false
	}
	return q.h[0].release, true
}

// PopDue removes and passes to emit, in order, every packet due at now.
func (q *Queue) PopDue(now time.Time, emit func(pkt []byte)) {
	for q.h.Len() > 0 && !q.h[0].release.After(now) {
		emit(heap.Pop(&q.h).(held).pkt)
	}
}
