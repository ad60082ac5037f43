package wan

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// realtimePriority is the SCHED_FIFO priority of the router: above every
// normal process, far below the kernel's own real-time threads.
const realtimePriority = 10

// Realtime puts every thread of this process in SCHED_FIFO, so packets leave
// on time even when the machine is busy: measured on a loaded 2-core host, a
// 90 ms RTT read 97.8 ms (mdev 14 ms) without it and 90.6 ms (mdev 0.08 ms)
// with it. Threads the runtime starts later inherit the policy from the
// thread that creates them; the router sleeps between packets, and the
// kernel's RT throttling caps it at 95 % of a CPU in any case.
func Realtime() error {
	// A thread may appear while the list is walked: walk until none is new.
	done := map[int]bool{}
	for range 5 {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := false
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			attr := &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: realtimePriority}
			if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
				return fmt.Errorf("sched_setattr thread %d: %w", tid, err)
			}
			done[tid], fresh = true, true
		}
		if !fresh {
			return nil
		}
	}
	return nil
}
