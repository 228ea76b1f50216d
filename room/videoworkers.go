package room

// Video on every core without costing audio its clock. One goroutine doing
// every view's compose and encode could not keep 30 fps for a 4-person
// room with personal layouts (four 720p encodes a frame), so the views of
// a tick are split across workers (parallelFor, one view per part). An
// earlier attempt lost audio ticks to video holding every core; here the
// video threads (the clock goroutine and its workers, each locked to its
// own OS thread) run at a lower scheduling priority (videoNice): when the
// audio clock wakes, the kernel gives it a core at once, and video takes
// what audio leaves. The workers are one fewer than the cores
// (Config.Cores), so with the clock goroutine video uses at most every
// core, never more, and at most cores-1 of them run Go code at once
// (goSlots).
//
// The mcu runs with one P more than the cores (cmd/mcu), because a video
// thread inside a C encode keeps its P: the Go runtime hands a P in a cgo
// call to another thread only when its monitor (sysmon) next looks, 20 µs
// to 10 ms later depending on how busy it has been. With an encode on
// every P, a woken audio clock waited for that, and the spare P is what it
// runs on instead; the kernel then gives its thread a core before the
// video threads' (videoNice). Measured on the personal-layouts harness
// scenario (4 × 720p encodes, 30 fps): audio tick p99 3.8 ms with the
// spare P, 4.5-6.4 ms without (see the issue 21 note).

// videoNice is how much lower the video threads' priority (nice value) is
// than the process's: at +5 a busy video thread weighs a third of the
// audio clock's thread in the kernel's fair scheduler.
const videoNice = 5

// goSlots bounds the video goroutines running Go code (not inside a C
// encode) to one fewer than the cores. A goroutine running Go code holds
// its P until it blocks or is preempted, and a low-priority thread the
// kernel does not schedule holds it all that time: with every P held so,
// the audio clock's goroutine had none to run on (on a busy shared machine
// the harness saw tick p99 of 170 ms). Encodes, the bulk of video work,
// are not bounded by it and run on every core. nil: no bound (tests,
// benchmarks).
type goSlots chan struct{}

func newGoSlots(cores int) goSlots { return make(goSlots, max(cores-1, 1)) }

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
func newVideoWorkers(cores int) *parallelFor {
	return newParallelForOf(cores-1, 2, 1, lowerThreadPriority)
}
