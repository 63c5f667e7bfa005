//go:build unix

package callback

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time consumed by the process
// so far. The benchmarks report it per operation ("cpu-ns/op") next to
// the wall-clock figure, which is unreliable on a shared, busy machine.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
