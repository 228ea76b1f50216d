package room

import (
	"fmt"
	"time"
)

// Fault containment: everything a participant drives — its decoding, its
// peer's reads and writes, its link reports — runs behind a recover, so a
// panic there (a codec's bug on a crafted packet, a transport's bug) fails
// that participant alone: it is removed, with a left event and
// Stats.ParticipantFailures, and every other participant carries on. The
// clocks skip a failed participant until it is dropped.

// recoverFor is deferred around one participant's work; it turns a panic
// into that participant's failure.
func (r *Room) recoverFor(pt *participant, what string) {
	if v := recover(); v != nil {
		r.manager.fail(r.id, pt, fmt.Errorf("%s panicked: %v", what, v))
	}
}

// pullOne decodes one participant's audio for the tick.
func (a *audioClock) pullOne(pt *participant) {
	defer a.r.recoverFor(pt, "audio input")
	pt.pull(a.tickNow, a.r.stats, a.r.metrics)
}

// encodeOne mixes and encodes one listener's mix-minus.
func (a *audioClock) encodeOne(pt *participant) {
	defer a.r.recoverFor(pt, "audio encode")
	a.mix.MixMinus(pt.in, &pt.out.mix)
	pt.encode(a.r.stats)
}

// sendOne sends one listener its frame; it reports whether one went out.
func (a *audioClock) sendOne(pt *participant, payload []byte, n int64) (sent bool) {
	defer a.r.recoverFor(pt, "audio output")
	return pt.send(payload, n, a.tickAt, a.phase)
}

// serve follows a video receiver's link (when follow) and counts it among
// the users of its output's rungs.
func (r *Room) serve(pt *participant, g *videoGroup, at time.Time, follow bool) {
	defer r.recoverFor(pt, "video output")
	if follow {
		r.followLink(pt, at)
	}
	r.receive(pt, g, at)
}

// forwardOne sends a video receiver its frame of tick n.
func (r *Room) forwardOne(pt *participant, n int64, at time.Time, groups map[string]*videoGroup) {
	defer r.recoverFor(pt, "video output")
	r.forward(pt, n, at, groups)
}
