package geobench

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CPUStall parses /proc/pressure/cpu (the kernel's pressure stall
// information) and returns its "some" total: how long, since boot, at
// least one runnable task waited for a CPU. Its growth over a run, against
// the run's length, is the share of the run during which the host was
// queueing work, a tail no product change on one node removes.
func CPUStall(procPressure []byte) (time.Duration, error) {
	for _, line := range strings.Split(string(procPressure), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "some" {
			continue
		}
		for _, kv := range f[1:] {
			if v, ok := strings.CutPrefix(kv, "total="); ok {
				us, err := strconv.ParseUint(v, 10, 63)
				if err != nil {
					return 0, fmt.Errorf("cpu pressure total %q: %w", v, err)
				}
				return time.Duration(us) * time.Microsecond, nil
			}
		}
	}
	return 0, fmt.Errorf("no \"some ... total=\" line in the cpu pressure file")
}
