package room

import (
	"sync"
	"sync/atomic"
)

// A room's audio tick is one goroutine, and its codec work grows with the
// talkers: 32 people talking is 32 Opus decodes and 32 encodes every
// 20 ms, about 8 ms of one core of a small machine, so one busy moment
// elsewhere made ticks start late (the harness measured p99 tick lateness
// of 25-36 ms in such rooms). Big rooms therefore split the decodes and
// the encodes across the machine's cores, on workers the room owns; small
// rooms keep everything on the clock goroutine, where waking another
// goroutine would cost more than it saves. This is a parallel-for over one
// tick's jobs, not the fan-out of encoded media to receivers (DESIGN §2).
const (
	// parallelFrom is the fewest jobs (decodes or encodes) in a tick worth
	// splitting.
	parallelFrom = 16
	// minJobsPerPart keeps each part big enough to pay for the hand-off.
	minJobsPerPart = 4
)

// parallelJob is one part of a tick's jobs, handed to a worker: work on
// [lo, hi), if part is still unclaimed in generation gen.
type parallelJob struct {
	work   func(lo, hi int)
	lo, hi int
	part   int
	gen    uint64
}

// parallelFor runs parts of a tick's jobs on its workers while the clock
// goroutine does the first part, then takes back every part no worker has
// started: a worker the machine does not schedule (a busy box) then costs
// the tick nothing, where waiting for it cost up to a scheduler slice.
// Each part is claimed once, by a compare-and-swap of its generation,
// so a worker that wakes late with a stale part claims nothing. A nil
// parallelFor (one core) runs everything on the caller.
type parallelFor struct {
	jobs    chan parallelJob
	done    chan struct{}   // a part a worker claimed has finished
	claims  []atomic.Uint64 // per part: 2·gen unclaimed, 2·gen+1 claimed
	gen     uint64
	workers int
	// from is the fewest jobs worth splitting, perPart the fewest in a
	// part.
	from, perPart int
	wg            sync.WaitGroup
}

// newParallelFor starts the audio clock's workers: one per core beyond the
// clock goroutine's; nil on a single core.
func newParallelFor(cores int) *parallelFor {
	return newParallelForOf(cores-1, parallelFrom, minJobsPerPart, nil)
}

// newParallelForOf starts workers that split runs of at least from jobs
// into parts of at least perPart; each worker first calls start (if not
// nil) on its own goroutine. nil when workers < 1.
func newParallelForOf(workers, from, perPart int, start func()) *parallelFor {
	if workers < 1 {
		return nil
	}
	f := &parallelFor{jobs: make(chan parallelJob, workers), done: make(chan struct{}, workers), claims: make([]atomic.Uint64, workers+1), workers: workers,
		from: from, perPart: perPart}
	for range workers {
		f.wg.Go(func() {
			if start != nil {
				start()
			}
			for j := range f.jobs {
				if f.claims[j.part].CompareAndSwap(2*j.gen, 2*j.gen+1) {
					j.work(j.lo, j.hi)
					f.done <- struct{}{}
				}
			}
		})
	}
	return f
}

// run calls work over [0, n) in parts and returns when all are done. work
// must be safe to run on disjoint ranges at once, and should be a function
// value made once (a method value made per call would allocate every tick).
func (f *parallelFor) run(n int, work func(lo, hi int)) {
	parts := 1
	if f != nil && n >= f.from {
		parts = min(f.workers+1, n/f.perPart)
	}
	if parts <= 1 {
		work(0, n)
		return
	}
	size := (n + parts - 1) / parts
	parts = (n + size - 1) / size
	f.gen++
	for i := 1; i < parts; i++ {
		f.claims[i].Store(2 * f.gen)
		// Never wait to hand a part out: a part not handed is done here.
		select {
		case f.jobs <- parallelJob{work: work, lo: i * size, hi: min((i+1)*size, n), part: i, gen: f.gen}:
		default:
		}
	}
	work(0, size)
	byWorkers := parts - 1
	for i := 1; i < parts; i++ {
		if f.claims[i].CompareAndSwap(2*f.gen, 2*f.gen+1) {
			work(i*size, min((i+1)*size, n))
			byWorkers--
		}
	}
	for range byWorkers {
		<-f.done
	}
}

// close stops the workers, once no run is under way.
func (f *parallelFor) close() {
	if f == nil {
		return
	}
	close(f.jobs)
	f.wg.Wait()
}
