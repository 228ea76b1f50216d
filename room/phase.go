package room

import (
	"time"

	"github.com/mcu-project/mcu/media"
)

// The playout phase. A sender's packets arrive at a fixed phase of the
// room's 20 ms clock, so each waits for the tick that plays it somewhere
// between its jitter allowance and a frame more: on average half a frame
// of latency that depends only on when the sender happened to start. The
// clock slides its phase instead, until the active speaker's packets are
// pulled between phaseMargin and twice that after they are due: the voice
// everyone is listening to then waits only for its jitter allowance. The
// clock does not slide earlier past the due time of another talking
// participant's packets, which would make that voice miss a tick.
//
// While anyone hears something it slides slowly: maxPhaseStep, one 48 kHz
// sample per 20 ms tick, or 0.1 %. What listeners receive must stay a
// 48 kHz stream: RTP timestamps advance by exactly a frame per packet (a
// receiver drops a packet whose timestamp overlaps the one before, and
// conceals a gap), and our sender reports map them to the tick times the
// packets leave at. A faster slide is a sender clock running fast: a 1 ms
// step per tick made the reports advance 0.5 % faster than 48 kHz and left
// packets 12 ms behind the mapping. At 0.1 % the stream is within what
// receivers take for clock drift; a 10 ms slide takes 10 s of one speaker.
//
// When a tick sent nobody anything (every mix silent, so every encoder in
// DTX) the clock moves to the speaker's phase in one step: a listener's
// next packet comes after a gap in any case, and its timestamp takes the
// clock's new phase there (audioOut.followPhase). The speaker is still
// the last one to talk, so a pause in a speech realigns the clock before
// the speaker goes on.
const (
	phaseMargin  = time.Millisecond
	maxPhaseStep = time.Second / 48000
)

// phaseStepFor returns how much earlier (negative: later) the next
// ticks should come, from the slack of the packets this tick pulled;
// lateness is how late the tick ran, which the slack includes but the
// deadline does not; quiet is set when the tick sent nothing.
func (a *audioClock) phaseStepFor(lateness time.Duration, quiet bool) time.Duration {
	var speaker *participant
	for _, pt := range a.members {
		if pt.id == a.speaker.Speaker() {
			speaker = pt
		}
	}
	if speaker == nil || !speaker.ain.timed {
		return 0
	}
	limit := a.phaseStep
	if quiet {
		limit = media.FrameDuration
	}
	step := speaker.ain.slack - lateness - phaseMargin
	switch {
	case step < 0:
		return max(step, -limit)
	case step <= phaseMargin:
		return 0 // in the band
	}
	step = min(step, limit)
	for _, pt := range a.members {
		if pt != speaker && pt.ain.timed && pt.in.Talking() {
			step = min(step, pt.ain.slack-lateness-phaseMargin)
		}
	}
	return max(step, 0)
}
