package room

import (
	"cmp"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// maxCatchUp bounds how far behind the audio clock may run before it skips
// ticks instead of producing them back to back.
const maxCatchUp = 200 * time.Millisecond

// Room is one conference: its members and the 20 ms audio clock that mixes
// them. Membership changes and the tick both take mu, so a tick always sees
// a consistent set of participants; a tick never waits on the network.
type Room struct {
	id      media.RoomID
	opts    Options
	reg     *codec.Registry
	log     *slog.Logger
	clock   media.Clock
	metrics Metrics
	stats   *counters
	onEvent func(Event)
	keys    []byte // DTMF scratch, clock goroutine only

	mu      sync.Mutex
	mix     *mixer.Mixer
	members []*participant // join order
	closed  bool

	// Layout state (under mu): the room's layout, viewers' overrides, the
	// pinned participant, and the active speaker with its challenger.
	layout         Layout
	overrides      map[media.ParticipantID]Layout
	pinned         media.ParticipantID
	speaker        media.ParticipantID
	candidate      media.ParticipantID
	candidateSince time.Time
	rank           []*participant // speaker-cap scratch, clock goroutine only
	phaseStep      time.Duration  // the most the clock's phase moves per tick while anyone hears something (phase.go)
	phase          time.Duration  // how much earlier than at its start the clock now ticks

	// shared encodes the full mix once per codec and rate for every
	// listener that contributes nothing to it (clock goroutine only).
	shared     map[string]*sharedMix
	sharedLoss map[string]int // scratch for adaptAudioLossLocked

	// The tick's decodes and encodes, split across cores in big rooms
	// (fanout.go): the workers (nil on one core), the work functions,
	// made once, and the tick's jobs (clock goroutine only, but for the
	// workers during a run).
	fan                  *fanOut
	pullWork, encodeWork func(lo, hi int)
	tickNow              time.Time
	encodeJobs           []*participant
	sharedJobs           []*sharedMix

	// canvas and rungs are the video outputs' sizes, fixed at creation
	// (the video clock reads them without the lock).
	canvas Rung
	rungs  []Rung

	// rungEncoders counts the video encoders running per ladder rung
	// (written by the video clock, summed by Manager.Stats).
	rungEncoders [MaxRungs]atomic.Int64

	// start is the room clock's origin: audio and video timestamps and
	// deadlines all count from it, so they share one timeline.
	start     time.Time
	stop      chan struct{}
	done      chan struct{}
	videoDone chan struct{}
}

func newRoom(id media.RoomID, opts Options, m *Manager) (*Room, error) {
	mx, err := mixer.New(opts.Mixer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	r := &Room{
		id: id, opts: opts, reg: m.cfg.Registry, clock: m.cfg.Clock, metrics: m.cfg.Metrics, stats: &m.stats, onEvent: m.cfg.OnEvent,
		log: m.log.With("room", string(id)), mix: mx, start: m.cfg.Clock.Now(),
		layout: Layout{Type: LayoutGrid}, overrides: map[media.ParticipantID]Layout{}, shared: map[string]*sharedMix{}, sharedLoss: map[string]int{},
		stop: make(chan struct{}), done: make(chan struct{}), videoDone: make(chan struct{}),
		canvas: Rung{Width: opts.Width, Height: opts.Height, FPS: opts.FPS}, rungs: opts.ladder(),
		phaseStep: cmp.Or(m.cfg.phaseStep, maxPhaseStep),
		fan:       newFanOut(),
	}
	r.pullWork, r.encodeWork = r.pullRange, r.encodeRange
	go r.run()
	go r.runVideo()
	return r, nil
}

// ID returns the room's ID.
func (r *Room) ID() media.RoomID { return r.id }

// Len returns the number of participants.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// add admits a participant; it fails if the room is full or closed.
func (r *Room) add(p JoinParams) (media.ParticipantID, error) {
	id := newParticipantID()
	pt, err := newParticipant(id, p, r.reg, r.audioParams(), r.log.With("participant", string(id)))
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		pt.close()
		return "", ErrClosed
	}
	if r.opts.MaxParticipants > 0 && len(r.members) >= r.opts.MaxParticipants {
		pt.close()
		return "", fmt.Errorf("%w: %d participants", ErrRoomFull, len(r.members))
	}
	if pt.in = r.mix.Add(id); pt.in == nil {
		// The mixer's own bound (MaxInputs) applies even without a room cap.
		pt.close()
		return "", fmt.Errorf("%w: mixer holds %d inputs", ErrRoomFull, r.mix.Len())
	}
	if pt.vout != nil {
		pt.vout.ctl = newLadderController(r.rungs)
		pt.vout.view = VideoReception{Size: r.rungs[0]}
	}
	pt.start(r.clock, r.stats)
	r.members = append(r.members, pt)
	r.log.Info("participant joined", "participant", id, "name", p.Name, "participants", len(r.members))
	return id, nil
}

// remove takes a participant out of the room and returns it for the caller
// to finish outside the lock.
func (r *Room) remove(id media.ParticipantID) (*participant, int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, pt := range r.members {
		if pt.id == id {
			r.members = append(r.members[:i], r.members[i+1:]...)
			r.mix.Remove(pt.in)
			delete(r.overrides, id)
			if r.pinned == id {
				r.pinned = ""
			}
			pt.close()
			r.log.Info("participant left", "participant", id, "participants", len(r.members))
			return pt, len(r.members), nil
		}
	}
	return nil, len(r.members), fmt.Errorf("%w: %s in room %s", ErrUnknownParticipant, id, r.id)
}

// Participant is a read-only view of a member.
type Participant struct {
	ID                     media.ParticipantID
	Name, Kind             string
	AudioCodec, VideoCodec string // what it sends
	Muted                  bool   // audio left out of the mix
	VideoMuted             bool
	GainDB                 float64
	Pinned                 bool
	Talking                bool
	Level                  float64 // dBov of what the participant sends
	BitrateBps             uint64  // received from it over the last second
	// Video is what it receives of the canvas (nil: it receives none).
	Video *VideoReception
}

// VideoReception is a receiver's place on the bitrate ladder and what its
// link reports.
type VideoReception struct {
	Rung int  // the rung it receives, 0 the top; ladder.Paused (-1): audio only
	Size Rung // that rung's size, rate and bitrate (zero when paused)
	// Target is the rung it is switching to (at that rung's next
	// keyframe); equal to Rung when settled.
	Target         int
	EstimateBps    int     // the link estimate the rung follows
	EstimateSource string  // "twcc", "remb", or "" before any estimate
	Loss           float64 // loss fraction the receiver reports
	RTT            time.Duration
	Switches       uint64 // rung changes since it joined
	Probing        bool   // padding is testing the next rung up
}

// Participants lists the members in join order.
func (r *Room) Participants() []Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Participant, 0, len(r.members))
	for _, pt := range r.members {
		out = append(out, Participant{
			ID: pt.id, Name: pt.name, Kind: pt.kind, AudioCodec: pt.recvAudioCodec, VideoCodec: pt.recvVideoCodec,
			Muted: pt.in.Muted(), VideoMuted: pt.videoMuted, GainDB: pt.in.GainDB(), Pinned: r.pinned == pt.id,
			Talking: pt.in.Talking(), Level: pt.in.Level(), BitrateBps: pt.bitrate.Load(),
		})
		if pt.vout != nil {
			out[len(out)-1].Video = pt.vout.reception()
		}
	}
	return out
}

// pausedReceivers counts the receivers getting audio only because their
// link cannot carry the lowest rung.
func (r *Room) pausedReceivers() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, pt := range r.members {
		if pt.vout != nil && pt.vout.reception().Rung == ladder.Paused {
			n++
		}
	}
	return n
}

// SetMuted mutes or unmutes a participant in everyone else's mix.
func (r *Room) SetMuted(id media.ParticipantID, muted bool) error {
	return r.withInput(id, func(in *mixer.Input) error { in.SetMuted(muted); return nil })
}

// SetGain sets a participant's gain in dB in everyone else's mix.
func (r *Room) SetGain(id media.ParticipantID, db float64) error {
	return r.withInput(id, func(in *mixer.Input) error { return in.SetGainDB(db) })
}

func (r *Room) withInput(id media.ParticipantID, f func(*mixer.Input) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pt := range r.members {
		if pt.id == id {
			return f(pt.in)
		}
	}
	return fmt.Errorf("%w: %s in room %s", ErrUnknownParticipant, id, r.id)
}

// close stops the clocks and removes every participant; it returns them
// for the caller to finish outside the lock.
func (r *Room) close() []*participant {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	<-r.videoDone
	r.fan.close()

	r.mu.Lock()
	defer r.mu.Unlock()
	members := r.members
	for _, pt := range members {
		r.mix.Remove(pt.in)
		pt.close()
	}
	r.members = nil
	for _, sh := range r.shared {
		_ = sh.enc.Close()
	}
	return members
}

// run is the room's audio clock: absolute deadlines from the schedule, a
// reusable timer, and no waiting on anything but the deadline and stop.
func (r *Room) run() {
	defer close(r.done)
	sched := newSchedule(r.clock.Now(), media.FrameDuration, maxCatchUp)
	w := newDeadlineWaiter(r.clock, r.stop)
	defer w.close()
	for {
		n, deadline, skipped := sched.next(r.clock.Now())
		if skipped > 0 {
			r.stats.skippedTicks.Add(uint64(skipped))
			r.log.Warn("audio clock stalled; skipped ticks", "skipped", skipped)
		}
		if !w.wait(deadline) {
			return
		}
		start := r.clock.Now()
		lateness := start.Sub(deadline)
		sched.shift(r.tick(n, deadline))
		r.stats.ticks.Add(1)
		if lateness > LateTickThreshold {
			r.stats.lateTicks.Add(1)
		}
		r.metrics.ObserveTick(lateness, r.clock.Now().Sub(start))
	}
}

// tick mixes one 20 ms frame: pull and decode every input, sum once, then
// encode each listener's mix-minus. It returns how much earlier the next
// ticks should come (see phaseStepLocked).
func (r *Room) tick(n int64, at time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tickNow = r.clock.Now() // playout buffers judge waiting by real time, not the deadline
	r.fan.run(len(r.members), r.pullWork)
	r.capSpeakersLocked()
	limitedBefore := r.mix.LimitedSamples()
	r.mix.Mix(at)
	// What to encode: a mix-minus for each listener in the mix, and the
	// full mix once per codec that anyone outside it hears.
	r.encodeJobs, r.sharedJobs = r.encodeJobs[:0], r.sharedJobs[:0]
	for _, pt := range r.members {
		switch {
		case pt.enc == nil:
		case pt.in.Contributing():
			r.encodeJobs = append(r.encodeJobs, pt)
		default:
			if sh := r.sharedFor(pt); sh != nil && sh.tick != n {
				sh.tick = n
				r.mix.MixAll(&sh.mix)
				r.sharedJobs = append(r.sharedJobs, sh)
			}
		}
	}
	r.fan.run(len(r.encodeJobs)+len(r.sharedJobs), r.encodeWork)
	// Sent in join order, from the clock goroutine.
	sent := false
	for _, pt := range r.members {
		switch {
		case pt.enc == nil:
		case pt.in.Contributing():
			if pt.encoded >= 0 {
				sent = pt.send(pt.pkt[:pt.encoded], n, at, r.phase) || sent
			}
		default:
			// Not in the mix: it hears the full mix, the same bytes as
			// every other such listener in its codec.
			if sh := r.shared[pt.sharedKey]; sh != nil && sh.tick == n && sh.size >= 0 {
				sent = pt.send(sh.pkt[:sh.size], n, at, r.phase) || sent
			}
		}
	}
	r.stats.limited.Add(r.mix.LimitedSamples() - limitedBefore)
	for _, ch := range r.mix.TalkingChanges() {
		ev := Event{Type: EventTalkingStopped, Room: r.id, Participant: ch.ID, At: at, Level: ch.Level}
		if ch.Talking {
			ev.Type = EventTalkingStarted
		}
		r.onEvent(ev)
	}
	r.followSpeakerLocked(at)
	measureBitrate := n%int64(time.Second/media.FrameDuration) == 0
	if measureBitrate {
		r.adaptAudioLossLocked()
	}
	for _, pt := range r.members {
		if pt.in.Talking() {
			pt.lastSpoke = at
		}
		if measureBitrate { // once a second
			b := pt.rxBytes.Load()
			pt.bitrate.Store((b - pt.rxLast) * 8)
			pt.rxLast = b
		}
		if pt.dtmf != nil {
			r.keys = pt.dtmf.TakeDTMF(r.keys[:0])
			for _, k := range r.keys {
				r.stats.dtmf.Add(1)
				r.onEvent(Event{Type: EventDTMF, Room: r.id, Participant: pt.id, At: at, Digit: k})
			}
		}
	}
	step := r.phaseStepLocked(r.tickNow.Sub(at), !sent)
	r.phase += step
	return step
}

// adaptAudioLossLocked sets each audio encoder's expected loss, and so how
// much in-band FEC it adds, from its listeners' receiver reports: a personal
// encoder from its own listener's, the shared full mix from the worst
// listener that reported and may receive it. Without a fresh report the
// loss is unknown, not zero: the encoder keeps what it expected (a WebRTC
// peer before its first report, a plain-RTP gateway that sends no RTCP).
func (r *Room) adaptAudioLossLocked() {
	clear(r.sharedLoss)
	for _, pt := range r.members {
		if pt.enc == nil || pt.reporter == nil {
			continue
		}
		s := pt.reporter.Link()
		if !s.AudioReported {
			continue
		}
		pct := lossPercent(s.AudioLoss)
		setExpectedLoss(pt.enc, pct)
		r.sharedLoss[pt.sharedKey] = max(r.sharedLoss[pt.sharedKey], pct)
	}
	for k, sh := range r.shared {
		if pct, ok := r.sharedLoss[k]; ok {
			setExpectedLoss(sh.enc, pct)
		}
	}
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

// audioParams are the room's audio encoders' settings: in-band FEC (sent
// only while receivers report loss), DTX (a silent mix — someone alone in
// a room, a room where nobody speaks — costs a packet every 400 ms instead
// of 50 a second) and the room's complexity.
func (r *Room) audioParams() codec.EncoderParams {
	return codec.EncoderParams{FEC: true, DTX: true, Complexity: r.opts.AudioComplexity}
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
func (r *Room) sharedFor(pt *participant) *sharedMix {
	sh, ok := r.shared[pt.sharedKey]
	if ok {
		return sh
	}
	c, err := r.reg.Audio(pt.sendCodec)
	if err != nil {
		return nil
	}
	enc, err := c.NewEncoder(r.audioParams())
	if err != nil {
		r.log.Warn("cannot create shared audio encoder", "err", err)
		return nil
	}
	sh = &sharedMix{enc: enc, tick: -1}
	r.shared[pt.sharedKey] = sh
	return sh
}

// pullRange decodes members [lo, hi) for the tick (pullWork).
func (r *Room) pullRange(lo, hi int) {
	for _, pt := range r.members[lo:hi] {
		pt.pull(r.tickNow, r.stats, r.metrics)
	}
}

// encodeRange mixes and encodes jobs [lo, hi) of the tick: the mix-minus
// jobs, then the shared ones (encodeWork).
func (r *Room) encodeRange(lo, hi int) {
	for i := lo; i < hi; i++ {
		if i < len(r.encodeJobs) {
			pt := r.encodeJobs[i]
			r.mix.MixMinus(pt.in, &pt.out)
			pt.encode(r.stats)
			continue
		}
		sh := r.sharedJobs[i-len(r.encodeJobs)]
		size, err := sh.enc.Encode(sh.mix.Samples[:], sh.pkt[:])
		r.stats.encodes.Add(1)
		if err != nil {
			r.stats.encodeErrs.Add(1)
			size = -1
		}
		sh.size = size
	}
}
