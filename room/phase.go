package room

import "time"

// The playout phase. A sender's packets arrive at a fixed phase of the
// room's 20 ms clock, so each waits for the tick that plays it somewhere
// between its jitter allowance and a frame more: on average half a frame
// of latency that depends only on when the sender happened to start. The
// clock slides its phase instead, at most phaseStep per tick, until the
// active speaker's packets are pulled between phaseMargin and twice that
// after they are due: the voice everyone is listening to then waits only
// for its jitter allowance. Other participants keep whatever phase they
// have. The clock does not slide earlier past the due time of another
// talking participant's packets, which would make that voice miss a tick.
//
// Listeners see the slide as packets coming at most phaseStep early per
// tick, like a sender's clock running a little fast; RTP timestamps and
// the room clock's mapping to them stay consistent.
const (
	phaseMargin = time.Millisecond
	phaseStep   = time.Millisecond
)

// phaseStepLocked returns how much earlier (negative: later) the next
// ticks should come, from the slack of the packets this tick pulled;
// lateness is how late the tick ran, which the slack includes but the
// deadline does not.
func (r *Room) phaseStepLocked(lateness time.Duration) time.Duration {
	var speaker *participant
	for _, pt := range r.members {
		if pt.id == r.speaker {
			speaker = pt
		}
	}
	if speaker == nil || !speaker.timed {
		return 0
	}
	step := speaker.slack - lateness - phaseMargin
	switch {
	case step < 0:
		return max(step, -phaseStep)
	case step <= phaseMargin:
		return 0 // in the band
	}
	step = min(step, phaseStep)
	for _, pt := range r.members {
		if pt != speaker && pt.timed && pt.in.Talking() {
			step = min(step, pt.slack-lateness-phaseMargin)
		}
	}
	return max(step, 0)
}
