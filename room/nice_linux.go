package room

import (
	"runtime"
	"syscall"
)

// lowerThreadPriority locks the calling goroutine to its OS thread for
// good and lowers that thread's priority by videoNice (Linux: nice values
// are per thread). The lock is never undone: the thread ends with the
// goroutine, and its priority with it, so no other goroutine inherits it.
// Failing to lower it (a sandbox refusing setpriority) changes nothing else.
func lowerThreadPriority() {
	runtime.LockOSThread()
	tid := syscall.Gettid()
	// The raw getpriority returns 20 - nice.
	cur, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(20-cur+videoNice, 19))
}
