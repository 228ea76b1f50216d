// Package selfcpu reads the CPU time this process has used: the node's
// load report, the benchmarks and the tests that compare costs all
// measure it the same way.
package selfcpu

import (
	"syscall"
	"time"
)

// Time is the user and system CPU time of every thread of this process so
// far, C threads included (0 if the kernel will not say).
func Time() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
