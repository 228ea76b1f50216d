package room

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// Room is one conference: its members, the 20 ms audio clock that mixes
// them and the video clock that composes their canvas.
//
// Each piece of state has one owner. The control state below mu (who is in
// the room, names, mutes, layouts, options) is only ever held for short
// bookkeeping, never across decoding, mixing, encoding or the network.
// Changes to what the audio clock mixes are queued as ops under mu and
// applied by the clock at the start of its next tick, so a join or a
// listing never waits for a tick, and a tick never waits for a caller.
type Room struct {
	id          media.RoomID
	reg         *codec.Registry
	log         *slog.Logger
	clock       media.Clock
	metrics     Metrics
	stats       *counters
	onEvent     func(Event)
	audioParams codec.EncoderParams // the room's audio encoders' settings
	maxInputs   int                 // the mixer's bound on participants
	manager     *Manager            // for the server-wide participant count
	release     func()              // gives up the room's home (Config.Claim)

	// canvas and rungs are the video outputs' sizes, fixed at creation.
	canvas ladder.Rung
	rungs  []ladder.Rung
	// rungEncoders counts the video encoders running per ladder rung
	// (written by the video clock, summed by Manager.Stats).
	rungEncoders [ladder.MaxRungs]atomic.Int64

	audio *audioClock // its goroutine's
	// waiting are the goroutines of pending participants, waiting for
	// their connections (awaitReady); stopClocks waits for them.
	waiting sync.WaitGroup

	mu        sync.Mutex
	opts      Options
	roster    []*participant // join order
	layout    Layout
	overrides map[media.ParticipantID]Layout // viewers' own layouts
	pinned    media.ParticipantID
	speaker   media.ParticipantID // the active speaker, as the audio clock elected
	// layoutSet: the room's layout was set over the API, so it no longer
	// follows screen shares.
	layoutSet bool
	// shares are the participants sharing a screen, in the order they
	// started (the video clock follows them); chosenShare is the one the
	// API chose to show.
	shares      []media.ParticipantID
	chosenShare media.ParticipantID
	closed      bool
	ops         []op        // for the audio clock's next tick
	queued      atomic.Bool // ops is not empty: the clock takes mu only then

	// start is the room clock's origin: audio and video timestamps and
	// deadlines all count from it, so they share one timeline.
	start     time.Time
	stop      chan struct{}
	done      chan struct{}
	videoDone chan struct{}
	// videoWake wakes an idle video clock (videoidle.go).
	videoWake chan struct{}
}

// newRoom builds a room; start runs its clocks.
func newRoom(id media.RoomID, opts Options, m *Manager) (*Room, error) {
	mx, err := mixer.New(opts.Mixer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	r := &Room{
		id: id, opts: opts, reg: m.cfg.Registry, clock: m.cfg.Clock, metrics: m.cfg.Metrics, stats: &m.stats, onEvent: m.cfg.OnEvent,
		log: m.log.With("room", string(id)), start: m.cfg.Clock.Now(), maxInputs: opts.Mixer.MaxInputs, manager: m,
		// In-band FEC (sent only while receivers report loss), DTX (a
		// silent mix — someone alone in a room, a room where nobody
		// speaks — costs a packet every 400 ms instead of 50 a second)
		// and the room's complexity.
		audioParams: codec.EncoderParams{BitrateBps: fullAudioBps, FEC: true, DTX: true, Complexity: opts.AudioComplexity},
		layout:      Layout{Type: LayoutGrid}, overrides: map[media.ParticipantID]Layout{},
		stop: make(chan struct{}), done: make(chan struct{}), videoDone: make(chan struct{}), videoWake: make(chan struct{}, 1),
		canvas: ladder.Rung{Width: opts.Width, Height: opts.Height, FPS: opts.FPS}, rungs: opts.ladder(),
	}
	r.audio = newAudioClock(r, mx, cmp.Or(m.cfg.phaseStep, maxPhaseStep))
	return r, nil
}

// run starts the room's clocks.
func (r *Room) run() {
	go func() {
		defer close(r.done)
		r.audio.run(r.stop)
	}()
	go r.runVideo()
}

// ID returns the room's ID.
func (r *Room) ID() media.RoomID { return r.id }

// Len returns the number of participants.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.roster)
}

// errRoomGone: the room closed between the manager finding it and the
// join; the manager looks again.
var errRoomGone = fmt.Errorf("%w: room closed", ErrClosed)

// add admits a participant; it fails if the room is full or closed. The
// participant is listed at once and mixed from the next tick. A
// participant with the same identity is replaced: it is returned for the
// caller to finish.
func (r *Room) add(p JoinParams) (media.ParticipantID, *participant, error) {
	id := media.ParticipantID(r.manager.cfg.IDPrefix) + newParticipantID()
	pt, err := newParticipant(id, p, r.reg, r.log.With("participant", string(id)))
	if err != nil {
		return "", nil, err
	}
	if p.Ready == nil {
		if err := pt.open(r.reg, r.audioParams); err != nil {
			return "", nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := -1
	if p.Identity != "" {
		old = slices.IndexFunc(r.roster, func(o *participant) bool { return o.identity == p.Identity })
	}
	others := len(r.roster)
	if old >= 0 {
		others--
	}
	// The room's cap counts the participants people see: a hidden one (a
	// recorder, a monitor) neither takes a place nor is refused one.
	listed := 0
	for i, o := range r.roster {
		if !o.hidden && i != old {
			listed++
		}
	}
	switch {
	case r.closed:
		err = errRoomGone
	case !p.Hidden && r.opts.MaxParticipants > 0 && listed >= r.opts.MaxParticipants:
		err = fmt.Errorf("%w: %d participants", ErrRoomFull, listed)
	case others >= r.maxInputs:
		// The mixer's own bound (MaxInputs) applies even without a room cap.
		err = fmt.Errorf("%w: mixer holds %d inputs", ErrRoomFull, r.maxInputs)
	case old < 0:
		err = r.manager.reserve() // a replacement takes its predecessor's place
	}
	if err != nil {
		pt.close()
		return "", nil, err
	}
	var replaced *participant
	if old >= 0 {
		replaced = r.removeLocked(old)
		r.manager.participants.Add(1) // removeLocked gave its place back
		r.log.Info("participant replaced by a new join of the same identity", "participant", replaced.id, "identity", p.Identity)
	}
	r.roster = append(r.roster, pt)
	if p.Ready == nil {
		r.activateLocked(pt)
	} else {
		pt.pending = true
		r.waiting.Go(func() { r.awaitReady(pt, p.Ready) })
	}
	r.log.Info("participant joined", "participant", id, "name", p.Name, "participants", len(r.roster), "connecting", pt.pending)
	return id, replaced, nil
}

// activateLocked starts a participant whose codecs are open: its video
// decoding, its place on the ladder, and its mixing from the next tick.
func (r *Room) activateLocked(pt *participant) {
	pt.pending = false
	if pt.vout != nil {
		pt.vout.ctl = newLadderController(r.rungs)
		pt.vout.view = VideoReception{Size: r.rungs[0]}
		r.wakeVideo()
	}
	pt.start(r)
	r.queueLocked(func(a *audioClock) { a.admit(pt) })
}

// awaitReady opens a pending participant's codecs once its connection is
// up and activates it, unless it left or the room closed meanwhile.
func (r *Room) awaitReady(pt *participant, ready <-chan struct{}) {
	select {
	case <-ready:
	case <-pt.cancel:
		return
	case <-r.stop:
		return
	}
	err := pt.open(r.reg, r.audioParams)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		pt.log.Warn("cannot open the participant's codecs", "err", err)
		if !pt.removed && !r.closed {
			r.manager.fail(r.id, pt, err)
		}
	case pt.removed || r.closed:
		pt.close()
	default:
		r.activateLocked(pt)
		pt.log.Debug("participant connected")
	}
}

// remove takes a participant out of the room and returns it for the caller
// to finish outside the lock; the audio clock drops it at its next tick.
func (r *Room) remove(id media.ParticipantID) (*participant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, err := r.indexLocked(id)
	if err != nil {
		return nil, err
	}
	pt := r.removeLocked(i)
	r.log.Info("participant left", "participant", id, "participants", len(r.roster))
	return pt, nil
}

// removeLocked takes roster[i] out and queues its drop from the mix.
func (r *Room) removeLocked(i int) *participant {
	pt := r.roster[i]
	r.roster = slices.Delete(r.roster, i, i+1)
	r.manager.participants.Add(-1)
	delete(r.overrides, pt.id)
	if r.pinned == pt.id {
		r.pinned = ""
	}
	pt.removed = true
	if pt.pending {
		close(pt.cancel) // never admitted: nothing for the clock to drop
	} else {
		r.queueLocked(func(a *audioClock) { a.drop(pt) })
	}
	return pt
}

// indexLocked finds a participant in the roster.
func (r *Room) indexLocked(id media.ParticipantID) (int, error) {
	i := slices.IndexFunc(r.roster, func(pt *participant) bool { return pt.id == id })
	if i < 0 {
		return -1, fmt.Errorf("%w: %s in room %s", ErrUnknownParticipant, id, r.id)
	}
	return i, nil
}

// queueLocked queues a change for the audio clock's next tick.
func (r *Room) queueLocked(o op) {
	r.ops = append(r.ops, o)
	r.queued.Store(true)
}

// setSpeaker publishes the active speaker the audio clock elected.
func (r *Room) setSpeaker(id media.ParticipantID) {
	r.mu.Lock()
	r.speaker = id
	r.mu.Unlock()
}

// Participant is a read-only view of a member.
type Participant struct {
	ID                     media.ParticipantID
	Identity               string // who joined ("" without a token)
	Name, Kind             string
	Listener               bool   // sends nothing: it only listens and watches
	AudioCodec, VideoCodec string // what it sends
	Muted                  bool   // audio left out of the mix
	VideoMuted             bool
	GainDB                 float64
	Pinned                 bool
	Talking                bool
	Level                  float64 // dBov of what the participant sends
	BitrateBps             uint64  // received from it over the last second
	// Sharing: it shares its screen; PresentationShown: its share is the
	// one shown.
	Sharing, PresentationShown bool
	// Video is what it receives of the canvas (nil: it receives none).
	Video *VideoReception
}

// VideoReception is a receiver's place on the bitrate ladder and what its
// link reports.
type VideoReception struct {
	Rung int         // the rung it receives, 0 the top; ladder.Paused (-1): audio only
	Size ladder.Rung // that rung's size, rate and bitrate (zero when paused)
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

// Participants lists the members in join order, as of the last tick; hidden
// ones are left out.
func (r *Room) Participants() []Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Participant, 0, len(r.roster))
	shown := r.shownShareLocked()
	for _, pt := range r.roster {
		if pt.hidden {
			continue
		}
		out = append(out, Participant{
			ID: pt.id, Identity: pt.identity, Listener: pt.recvAudioCodec == "" && pt.recvVideoCodec == "", Name: pt.name, Kind: pt.kind, AudioCodec: pt.recvAudioCodec, VideoCodec: pt.recvVideoCodec,
			Muted: pt.muted, VideoMuted: pt.videoMuted, GainDB: pt.gainDB, Pinned: r.pinned == pt.id,
			Talking: pt.talking.Load(), Level: math.Float64frombits(pt.level.Load()), BitrateBps: pt.bitrate.Load(),
			Sharing: slices.Contains(r.shares, pt.id), PresentationShown: shown != "" && shown == pt.id,
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
	for _, pt := range r.roster {
		if pt.vout != nil && pt.vout.reception().Rung == ladder.Paused {
			n++
		}
	}
	return n
}

// Info is a read-only view of a room.
type Info struct {
	ID           media.RoomID
	Options      Options
	Participants int // listed ones: hidden participants are not counted
	Layout       Layout
	Speaker      media.ParticipantID // the speaker slot: pinned, else active speaker
}

// Info describes the room.
func (r *Room) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	visible := 0
	for _, pt := range r.roster {
		if !pt.hidden {
			visible++
		}
	}
	return Info{ID: r.id, Options: r.opts, Participants: visible, Layout: r.layout, Speaker: r.featuredLocked()}
}

// featuredLocked is who holds the speaker slot: the pinned participant,
// else the active speaker.
func (r *Room) featuredLocked() media.ParticipantID {
	return cmp.Or(r.pinned, r.speaker)
}

// shut refuses further joins and takes the roster; false if the room was
// already shut. With ifEmpty it shuts only a room nobody is in (the last
// leave), so that a join racing the leave keeps the room.
func (r *Room) shut(ifEmpty bool) ([]*participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || (ifEmpty && len(r.roster) > 0) {
		return nil, false
	}
	r.closed = true
	members := r.roster
	r.roster = nil
	r.manager.participants.Add(-int64(len(members)))
	return members, true
}

// stopClocks stops a shut room's clocks, waits for them and frees what the
// audio clock held. Called once, by whoever shut the room.
func (r *Room) stopClocks() {
	close(r.stop)
	<-r.done
	<-r.videoDone
	r.waiting.Wait()
	r.audio.close()
}
