package room

import (
	"runtime"
	"sync"
)

// A room's audio tick is one goroutine, and its codec work grows with the
// talkers: 32 people talking is 32 Opus decodes and 32 encodes every
// 20 ms, about 10 ms of one core of a small machine, so one busy moment
// elsewhere made ticks start late (the harness measured p99 tick lateness
// of 25-36 ms in such rooms). Big rooms therefore split the decodes and
// the encodes across the machine's cores, on workers the room owns; small
// rooms keep everything on the clock goroutine, where waking another
// goroutine would cost more than it saves.
const (
	// fanOutFrom is the fewest jobs (decodes or encodes) in a tick worth
	// splitting.
	fanOutFrom = 8
	// minJobsPerPart keeps each part big enough to pay for the hand-off.
	minJobsPerPart = 4
)

// fanJob is one part of a tick's jobs: work on [lo, hi).
type fanJob struct {
	work   func(lo, hi int)
	lo, hi int
}

// fanOut runs parts of a tick's jobs on its workers while the clock
// goroutine does the first part. A nil fanOut (one core) runs everything
// on the caller.
type fanOut struct {
	jobs    chan fanJob
	done    chan struct{}
	workers int
	wg      sync.WaitGroup
}

// newFanOut starts a worker per core beyond the clock goroutine's; nil on
// a single core.
func newFanOut() *fanOut {
	workers := runtime.GOMAXPROCS(0) - 1
	if workers < 1 {
		return nil
	}
	f := &fanOut{jobs: make(chan fanJob, workers), done: make(chan struct{}, workers), workers: workers}
	for range workers {
		f.wg.Go(func() {
			for j := range f.jobs {
				j.work(j.lo, j.hi)
				f.done <- struct{}{}
			}
		})
	}
	return f
}

// run calls work over [0, n) in parts and returns when all are done. work
// must be safe to run on disjoint ranges at once, and should be a function
// value made once (a method value made per call would allocate every tick).
func (f *fanOut) run(n int, work func(lo, hi int)) {
	parts := 1
	if f != nil && n >= fanOutFrom {
		parts = min(f.workers+1, n/minJobsPerPart)
	}
	if parts <= 1 {
		work(0, n)
		return
	}
	size := (n + parts - 1) / parts
	handed := 0
	for lo := size; lo < n; lo += size {
		f.jobs <- fanJob{work: work, lo: lo, hi: min(lo+size, n)}
		handed++
	}
	work(0, size)
	for range handed {
		<-f.done
	}
}

// close stops the workers, once no run is under way.
func (f *fanOut) close() {
	if f == nil {
		return
	}
	close(f.jobs)
	f.wg.Wait()
}
