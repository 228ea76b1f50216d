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
// clock goroutine video uses at most every core, never more.

// videoNice is how much lower the video threads' priority (nice value) is
// than the process's: at +5 a busy video thread weighs a third of the
// audio clock's thread in the kernel's fair scheduler.
const videoNice = 5

// newVideoWorkers starts a room's video workers: a view per part, as soon
// as a tick has two views; nil on one core.
func newVideoWorkers() *parallelFor {
	return newParallelForOf(runtime.GOMAXPROCS(0)-1, 2, 1, lowerThreadPriority)
}
