package room

import (
	"log/slog"
	"slices"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

const (
	// maxCatchUp bounds how far behind the audio clock may run before it
	// skips ticks instead of producing them back to back.
	maxCatchUp = 200 * time.Millisecond
	// speakerHold is how long a new speaker must lead before taking the
	// speaker slot, so the large region does not flap between voices.
	speakerHold = time.Second
)

// op is a change to the audio clock's state (a join, a leave, a mute, a
// gain, a speaker cap), queued by the room's control methods and applied
// by the clock at the start of its next tick: the clock never waits for a
// lock to change what it mixes, and a caller never waits for a tick.
type op func(a *audioClock)

// audioClock is the room's 20 ms audio clock and everything only it
// touches: the mixer, the admitted participants' audio pipelines, the
// shared full-mix encoders and the speaker election. Its goroutine is the
// only owner; the room learns what happened through events and what each
// participant publishes.
type audioClock struct {
	r   *Room
	log *slog.Logger
	mix *mixer.Mixer

	members []*participant // admitted, in join order
	inputs  []*mixer.Input // members' mixer inputs, in the same order
	ops     []op           // the queue taken from the room this tick
	rank    []*mixer.Input // speaker-cap scratch
	keys    []byte         // DTMF scratch
	speaker mixer.SpeakerElection
	// maxSpeakers caps the voices mixed (Options.MaxSpeakers).
	maxSpeakers int

	// phaseStep is the most the clock's phase moves per tick while anyone
	// hears something; phase is how much earlier than at its start the
	// clock now ticks (phase.go).
	phaseStep, phase time.Duration

	// shared encodes the full mix once per codec and rate for every
	// listener that contributes nothing to it.
	shared     map[string]*sharedMix
	sharedLoss map[string]int // scratch for adaptAudioLoss

	// The tick's decodes and encodes, split across cores in big rooms
	// (parallel.go): the workers (nil on one core or before the clock
	// runs), the work functions, made once, and the tick's jobs.
	par                  *parallelFor
	pullWork, encodeWork func(lo, hi int)
	tickNow, tickAt      time.Time // the tick's wall time and room-clock time
	encodeJobs           []*participant
	sharedJobs           []*sharedMix
}

func newAudioClock(r *Room, mix *mixer.Mixer, phaseStep time.Duration) *audioClock {
	a := &audioClock{r: r, log: r.log, mix: mix, phaseStep: phaseStep, maxSpeakers: r.opts.MaxSpeakers,
		speaker: mixer.SpeakerElection{Hold: speakerHold}, shared: map[string]*sharedMix{}, sharedLoss: map[string]int{}}
	a.pullWork, a.encodeWork = a.pullRange, a.encodeRange
	return a
}

// run is the audio clock's goroutine: absolute deadlines from the
// schedule, one reusable timer, and no waiting on anything but the
// deadline and stop.
func (a *audioClock) run(stop <-chan struct{}) {
	r := a.r
	a.par = newParallelFor(r.manager.cfg.Cores)
	defer a.par.close()
	sched := newSchedule(r.clock.Now(), media.FrameDuration, maxCatchUp)
	w := newDeadlineWaiter(r.clock, stop, true)
	defer w.close()
	for {
		n, deadline, skipped := sched.next(r.clock.Now())
		if skipped > 0 {
			r.stats.skippedTicks.Add(uint64(skipped))
			a.log.Warn("audio clock stalled; skipped ticks", "skipped", skipped)
		}
		if !w.wait(deadline) {
			return
		}
		start := r.clock.Now()
		lateness := start.Sub(deadline)
		sched.shift(a.tick(n, deadline))
		r.stats.ticks.Add(1)
		if lateness > LateTickThreshold {
			r.stats.lateTicks.Add(1)
		}
		r.metrics.ObserveTick(lateness, r.clock.Now().Sub(start))
	}
}

// applyOps applies the changes queued since the last tick, in order.
func (a *audioClock) applyOps() {
	r := a.r
	if !r.queued.Load() {
		return
	}
	r.mu.Lock()
	a.ops, r.ops = r.ops, a.ops[:0]
	r.queued.Store(false)
	r.mu.Unlock()
	for i, o := range a.ops {
		o(a)
		a.ops[i] = nil // let what the op held go
	}
}

// admit adds a participant to the mix.
func (a *audioClock) admit(pt *participant) {
	// The room refuses joins beyond the mixer's bound, and ops apply in
	// roster order, so Add has room.
	pt.in = a.mix.Add(pt.id)
	a.members = append(a.members, pt)
	a.inputs = append(a.inputs, pt.in)
}

// drop takes a participant out of the mix and frees its audio codecs.
func (a *audioClock) drop(pt *participant) {
	if i := slices.Index(a.members, pt); i >= 0 {
		a.members = slices.Delete(a.members, i, i+1)
		a.inputs = slices.Delete(a.inputs, i, i+1)
	}
	a.mix.Remove(pt.in)
	pt.close()
}

// close frees what the clock still holds once it has stopped: the
// queued changes are applied first, so every participant's codecs are
// freed exactly once.
func (a *audioClock) close() {
	a.applyOps()
	for _, pt := range a.members {
		a.mix.Remove(pt.in)
		pt.close()
	}
	a.members, a.inputs = nil, nil
	for _, sh := range a.shared {
		_ = sh.enc.Close()
	}
}

// tick mixes one 20 ms frame: pull and decode every input, sum once, then
// encode each listener's mix-minus. It returns how much earlier the next
// ticks should come (see phaseStepFor).
func (a *audioClock) tick(n int64, at time.Time) time.Duration {
	r := a.r
	a.applyOps()
	a.tickNow = r.clock.Now() // playout buffers judge waiting by real time, not the deadline
	a.tickAt = at
	a.par.run(len(a.members), a.pullWork)
	a.rank = mixer.CapSpeakers(a.inputs, a.maxSpeakers, a.rank)
	limitedBefore := a.mix.LimitedSamples()
	a.mix.Mix(at)
	// What to encode: a mix-minus for each listener in the mix, and the
	// full mix once per codec that anyone outside it hears.
	a.encodeJobs, a.sharedJobs = a.encodeJobs[:0], a.sharedJobs[:0]
	for _, pt := range a.members {
		switch {
		case pt.out.enc == nil || pt.failed.Load():
		case pt.in.Contributing():
			a.encodeJobs = append(a.encodeJobs, pt)
		default:
			if sh := a.sharedFor(pt); sh != nil && sh.tick != n {
				sh.tick = n
				a.mix.MixAll(&sh.mix)
				a.sharedJobs = append(a.sharedJobs, sh)
			}
		}
	}
	a.par.run(len(a.encodeJobs)+len(a.sharedJobs), a.encodeWork)
	// Truncating alone would keep the jobs in the backing arrays: a
	// participant who left would stay reachable (its peer, buffers and
	// pictures) until as many others needed an encode again.
	clear(a.encodeJobs)
	clear(a.sharedJobs)
	sent := a.sendAll(n, at)
	r.stats.limited.Add(a.mix.LimitedSamples() - limitedBefore)
	for _, ch := range a.mix.TalkingChanges() {
		ev := Event{Type: EventTalkingStopped, Room: r.id, Participant: ch.ID, At: at, Level: ch.Level}
		if ch.Talking {
			ev.Type = EventTalkingStarted
		}
		r.onEvent(ev)
	}
	a.followSpeaker(at)
	perSecond := n%int64(time.Second/media.FrameDuration) == 0
	if perSecond {
		a.adaptAudioLoss()
	}
	for _, pt := range a.members {
		pt.publish(at)
		if perSecond {
			b := pt.rxBytes.Load()
			pt.bitrate.Store((b - pt.rxLast) * 8)
			pt.rxLast = b
		}
		if pt.dtmf != nil && !pt.failed.Load() {
			a.takeDTMF(pt, at)
		}
	}
	step := a.phaseStepFor(a.tickNow.Sub(at), !sent)
	a.phase += step
	return step
}

// sendAll sends every listener its frame of tick n, in join order, from
// the clock goroutine; it reports whether anything went out.
func (a *audioClock) sendAll(n int64, at time.Time) bool {
	sent := false
	for _, pt := range a.members {
		switch {
		case pt.out.enc == nil || pt.failed.Load():
		case pt.in.Contributing():
			if pt.out.encoded >= 0 {
				sent = a.sendOne(pt, pt.out.pkt[:pt.out.encoded], n) || sent
			}
		default:
			// Not in the mix: it hears the full mix, the same bytes as
			// every other such listener in its codec.
			if sh := a.shared[pt.out.sharedKey]; sh != nil && sh.tick == n && sh.size >= 0 {
				sent = a.sendOne(pt, sh.pkt[:sh.size], n) || sent
			}
		}
	}
	return sent
}

// takeDTMF announces the telephone keys a participant pressed.
func (a *audioClock) takeDTMF(pt *participant, at time.Time) {
	defer a.r.recoverFor(pt, "DTMF")
	a.keys = pt.dtmf.TakeDTMF(a.keys[:0])
	for _, k := range a.keys {
		a.r.stats.dtmf.Add(1)
		a.r.onEvent(Event{Type: EventDTMF, Room: a.r.id, Participant: pt.id, At: at, Digit: k})
	}
}

// followSpeaker elects the active speaker (mixer.SpeakerElection) and
// publishes a change.
func (a *audioClock) followSpeaker(at time.Time) {
	lead := mixer.Loudest(a.inputs)
	var id media.ParticipantID
	if lead != nil {
		id = lead.ID()
	}
	if a.speaker.Observe(at, id) {
		a.r.setSpeaker(id)
		a.r.onEvent(Event{Type: EventActiveSpeakerChanged, Room: a.r.id, Participant: id, At: at, Level: lead.Level()})
	}
}

// adaptAudioLoss sets each audio encoder's rate from its listeners' link
// estimates (listeners of one rate share a full-mix encode) and its
// expected loss, and so how much in-band FEC it adds, from their receiver
// reports: a personal encoder from its own listener's, the shared full mix
// from the worst listener that reported and may receive it. Without a fresh report the
// loss is unknown, not zero: the encoder keeps what it expected (a WebRTC
// peer before its first report, a plain-RTP gateway that sends no RTCP).
func (a *audioClock) adaptAudioLoss() {
	clear(a.sharedLoss)
	for _, pt := range a.members {
		if pt.out.enc != nil && pt.reporter != nil && !pt.failed.Load() {
			a.adaptLoss(pt)
		}
	}
	for k, sh := range a.shared {
		if pct, ok := a.sharedLoss[k]; ok {
			setExpectedLoss(sh.enc, pct)
		}
	}
}

// adaptLoss sets a listener's encoder from its receiver reports and notes
// its loss for the shared encoder of its codec.
func (a *audioClock) adaptLoss(pt *participant) {
	defer a.r.recoverFor(pt, "link report")
	s := pt.reporter.Link()
	if was := pt.out.bps; pt.out.adaptRate(s.EstimateBps) {
		pt.log.Debug("audio rate follows the link", "from", was, "to", pt.out.bps, "estimate", s.EstimateBps)
	}
	if !s.AudioReported {
		return
	}
	pct := lossPercent(s.AudioLoss)
	setExpectedLoss(pt.out.enc, pct)
	a.sharedLoss[pt.out.sharedKey] = max(a.sharedLoss[pt.out.sharedKey], pct)
}

// lossPercent rounds a reported loss fraction to the percentage an encoder
// takes, at least 1 % when there is any loss.
func lossPercent(loss float64) int {
	if loss <= 0 {
		return 0
	}
	return min(max(int(loss*100+0.5), 1), 100)
}

func setExpectedLoss(enc codec.AudioEncoder, pct int) {
	if lc, ok := enc.(codec.LossController); ok {
		_ = lc.SetPacketLossPercent(pct)
	}
}

// sharedMix is one encode of the full mix per tick, for every listener in
// its codec and rate that contributes nothing.
type sharedMix struct {
	enc  codec.AudioEncoder
	mix  media.AudioFrame
	pkt  [1500]byte
	size int   // of the encoded frame in pkt; -1 when the encode failed
	tick int64 // the tick pkt holds; -1 before the first
}

// sharedFor returns the shared full-mix encoder for pt's codec and rate,
// creating it on first use; nil if it cannot be made.
func (a *audioClock) sharedFor(pt *participant) *sharedMix {
	sh, ok := a.shared[pt.out.sharedKey]
	if ok {
		return sh
	}
	c, err := a.r.reg.Audio(pt.out.codec)
	if err != nil {
		return nil
	}
	params := a.r.audioParams
	params.BitrateBps = pt.out.bps
	enc, err := c.NewEncoder(params)
	if err != nil {
		a.log.Warn("cannot create shared audio encoder", "err", err)
		return nil
	}
	sh = &sharedMix{enc: enc, tick: -1}
	a.shared[pt.out.sharedKey] = sh
	return sh
}

// pullRange decodes members [lo, hi) for the tick (pullWork).
func (a *audioClock) pullRange(lo, hi int) {
	for _, pt := range a.members[lo:hi] {
		if pt.failed.Load() {
			pt.in.SetPresent(false)
			continue
		}
		a.pullOne(pt)
	}
}

// encodeRange mixes and encodes jobs [lo, hi) of the tick: the mix-minus
// jobs, then the shared ones (encodeWork).
func (a *audioClock) encodeRange(lo, hi int) {
	stats := a.r.stats
	for i := lo; i < hi; i++ {
		if i < len(a.encodeJobs) {
			a.encodeOne(a.encodeJobs[i])
			continue
		}
		sh := a.sharedJobs[i-len(a.encodeJobs)]
		size, err := sh.enc.Encode(sh.mix.Samples[:], sh.pkt[:])
		stats.encodes.Add(1)
		if err != nil {
			stats.encodeErrs.Add(1)
			size = -1
		}
		sh.size = size
	}
}
