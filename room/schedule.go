package room

import (
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
	// lead is sysmonLead on the wall clock, whose timers are the Go
	// runtime's; a stepped test clock's are not, and it wakes once.
	lead time.Duration
}

func newDeadlineWaiter(clock media.Clock, stop <-chan struct{}) *deadlineWaiter {
	w := &deadlineWaiter{clock: clock, stop: stop, timer: clock.NewTimer()}
	if _, ok := clock.(media.SystemClock); ok {
		w.lead = sysmonLead
	}
	return w
}

// wait returns true at the deadline (at once if it has passed) and false
// if stop closed first.
//
// On the wall clock it wakes sysmonLead before the deadline and sleeps
// again, doing nothing in between: see sysmonLead.
func (w *deadlineWaiter) wait(deadline time.Time) bool {
	if d := deadline.Sub(w.clock.Now()); w.lead > 0 && d > 2*w.lead && !w.sleep(d-w.lead) {
		return false
	}
	if d := deadline.Sub(w.clock.Now()); d > 0 {
		return w.sleep(d)
	}
	select {
	case <-w.stop:
		return false
	default:
		return true
	}
}

// sysmonLead is how long before a tick its clock wakes once, idle. The Go
// runtime's monitor thread (sysmon) sleeps while every P is idle until the
// earliest timer, and the first syscall or cgo call made while it sleeps
// wakes it and sets it polling every 20 µs again, backing off only after
// 1 ms of finding nothing to do. A room clock's tick starts with syscalls
// and cgo calls right at its timer, so sysmon was woken back to 20 µs at
// every tick: about 1,000 sleeps and context switches a second, 13 % of an
// 8-person audio room's CPU (perf, see the issue 21 note). With a timer
// that fires first and makes no call, sysmon wakes on its own timeout
// (which does not reset its back-off), and sleeps through the tick.
const sysmonLead = time.Millisecond

// sleep waits d; false if stop closed first.
func (w *deadlineWaiter) sleep(d time.Duration) bool {
	w.timer.Reset(d)
	select {
	case <-w.stop:
		return false
	case <-w.timer.C():
		return true
	}
}

func (w *deadlineWaiter) close() { w.timer.Stop() }
