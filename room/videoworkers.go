package room

import "runtime"

// Video on every core without costing audio its clock. One goroutine doing
// every view's compose and encode could not keep 30 fps for a 4-person
// room with personal layouts (four 720p encodes a frame), so the views of
// a tick are split across workers (parallelFor, one view per part). An
// earlier attempt lost audio ticks to video holding every core; here the
// video threads (the clock goroutine and its workers, each locked to its
// own OS thread) run at a lower scheduling priority (videoNice): when the
// audio clock wakes, the kernel gives it a core at once, and video takes
// what audio leaves. The workers are one fewer than GOMAXPROCS, so with the
// clock goroutine video uses at most every core, never more, and at most
// GOMAXPROCS-1 of them run Go code at once (goSlots): one P is always left
// to the audio clock.

// videoNice is how much lower the video threads' priority (nice value) is
// than the process's: at +5 a busy video thread weighs a third of the
// audio clock's thread in the kernel's fair scheduler.
const videoNice = 5

// goSlots bounds the video goroutines running Go code (not inside a C
// encode) to one fewer than GOMAXPROCS. A goroutine running Go code holds
// its P until it blocks or is preempted, and a low-priority thread the
// kernel does not schedule holds it all that time: with every P held so,
// the audio clock's goroutine had none to run on (on a busy shared machine
// the harness saw tick p99 of 170 ms). A goroutine inside C gives its P
// up to whoever needs it, so encodes, the bulk of video work, still run on
// every core. nil: no bound (tests, benchmarks).
type goSlots chan struct{}

func newGoSlots() goSlots { return make(goSlots, max(runtime.GOMAXPROCS(0)-1, 1)) }

func (s goSlots) acquire() {
	if s != nil {
		s <- struct{}{}
	}
}

func (s goSlots) release() {
	if s != nil {
		<-s
	}
}

// newVideoWorkers starts a room's video workers: a view per part, as soon
// as a tick has two views; nil on one core.
func newVideoWorkers() *parallelFor {
	return newParallelForOf(runtime.GOMAXPROCS(0)-1, 2, 1, lowerThreadPriority)
}
