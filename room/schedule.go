package room

import (
	"runtime"
	"time"

	"github.com/mcu-project/mcu/media"
)

// schedule hands out the absolute deadlines of a periodic clock. Deadlines
// are start + n·period, so timer error never accumulates into drift. After
// a late wake-up the missed ticks are produced back to back (catch-up) as
// long as the clock is at most maxBehind late; beyond that the clock jumps
// forward to the most recent deadline and reports how many ticks it skipped,
// so a long stall costs one counted discontinuity instead of a burst of
// stale audio.
type schedule struct {
	start     time.Time
	period    time.Duration
	maxBehind time.Duration
	n         int64 // index of the next tick to produce
}

func newSchedule(start time.Time, period, maxBehind time.Duration) *schedule {
	return &schedule{start: start, period: period, maxBehind: maxBehind}
}

// deadline returns when tick n is due.
func (s *schedule) deadline(n int64) time.Time {
	return s.start.Add(time.Duration(n) * s.period)
}

// next returns the next tick to run and its deadline, given that it is now
// `now` (which may be before the deadline: the caller then waits for it).
// skipped counts ticks dropped because the clock fell more than maxBehind
// behind.
func (s *schedule) next(now time.Time) (n int64, deadline time.Time, skipped int64) {
	if behind := now.Sub(s.deadline(s.n)); behind > s.maxBehind {
		// Jump to the last deadline that is not in the future.
		latest := int64(now.Sub(s.start) / s.period)
		skipped = latest - s.n
		s.n = latest
	}
	n = s.n
	s.n++
	return n, s.deadline(n), skipped
}

// shift moves every later deadline d earlier (negative d: later).
func (s *schedule) shift(d time.Duration) { s.start = s.start.Add(-d) }

// deadlineWaiter sleeps until absolute deadlines with one reusable timer
// of the room's clock, and wakes early when stop closes.
type deadlineWaiter struct {
	clock media.Clock
	stop  <-chan struct{}
	timer media.Timer
	// yield: each wait that sleeps ends with a yield to the scheduler
	// (see wait). The audio clock's waiter yields; the video clock's does
	// not: it is locked to its OS thread, where a yield is a hand-off to
	// another thread and back, two context switches a frame.
	yield bool
}

func newDeadlineWaiter(clock media.Clock, stop <-chan struct{}, yield bool) *deadlineWaiter {
	return &deadlineWaiter{clock: clock, stop: stop, timer: clock.NewTimer(), yield: yield}
}

// wait returns true at the deadline (at once if it has passed) and false
// if stop closed first.
func (w *deadlineWaiter) wait(deadline time.Time) bool {
	if d := deadline.Sub(w.clock.Now()); d > 0 {
		w.timer.Reset(d)
		select {
		case <-w.stop:
			return false
		case <-w.timer.C():
			// The tick starts on a fresh scheduler time slice. A
			// goroutine woken by its timer runs in the slice its P
			// last ran, and the runtime's monitor (sysmon) saw that
			// slice begin before the P went idle, a tick ago: it took
			// every tick for one running past the 10 ms limit,
			// preempted the clock with signals and, inside its cgo
			// calls, took its P and handed it to another thread,
			// which set sysmon back to polling every 20 µs (perf
			// trace of an 8-person plain-RTP room: 7 preemption
			// signals in 2 ms of one tick, about 1,000 sysmon sleeps
			// a second). Yielding once goes through the scheduler,
			// which starts a new slice.
			if w.yield {
				runtime.Gosched()
			}
			return true
		}
	}
	select {
	case <-w.stop:
		return false
	default:
		return true
	}
}

func (w *deadlineWaiter) close() { w.timer.Stop() }
