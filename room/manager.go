package room

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// Options are a room's settings.
type Options struct {
	// Width, Height and FPS are the canvas every participant receives.
	Width, Height, FPS int
	// VideoBitrate is the canvas encoders' target (0: codec default).
	VideoBitrate int
	// ExcludeSelf leaves each participant's own tile out of its canvas.
	ExcludeSelf bool
	// VideoCodecs are the video codecs the room allows (MIME types); each
	// participant gets the one its offer prefers among them.
	VideoCodecs []string
	// MaxParticipants caps the room (0: no cap).
	MaxParticipants int
	// MaxSpeakers caps how many inputs are mixed: the loudest N (0: all).
	MaxSpeakers int
	// AudioComplexity is the Opus encoders' complexity, 1..10: lower costs
	// less CPU per encode at some quality (0: libopus's default, 9).
	AudioComplexity int
	// KeepWhenEmpty keeps the room (and its clock) after the last
	// participant leaves; by default an empty room is deleted.
	KeepWhenEmpty bool
	// Mixer tunes the audio mixer.
	Mixer mixer.Options
	// Ladder is the rungs every view is encoded at, top first: each
	// receiver gets the highest rung its link carries. Empty: DefaultLadder
	// of the canvas; one rung turns adaptation off.
	Ladder []Rung
}

// Rung is one step of the bitrate ladder: the canvas scaled to Width×Height
// at FPS (which divides the canvas rate) and encoded at BitrateBps.
type Rung struct {
	Width, Height, FPS, BitrateBps int
}

// MaxRungs bounds a ladder.
const MaxRungs = 3

// DefaultLadder is the canvas at full size and rate, half size, and
// quarter size at half rate (for a 1280×720@30 canvas: 1.5 Mb/s, 600 kb/s,
// 150 kb/s). bitrate is the top rung's (0: the codec default).
func DefaultLadder(width, height, fps, bitrate int) []Rung {
	if bitrate <= 0 {
		bitrate = codec.DefaultVideoBitrate(width, height, fps)
	}
	half := func(v int) int { return max(v/2&^1, 16) }
	w2, h2 := half(width), half(height)
	w4, h4 := half(w2), half(h2)
	f4 := fps
	if fps%2 == 0 {
		f4 = fps / 2
	}
	return []Rung{
		{width, height, fps, bitrate},
		{w2, h2, fps, min(codec.DefaultVideoBitrate(w2, h2, fps), bitrate*2/5)},
		{w4, h4, f4, min(codec.DefaultVideoBitrate(w4, h4, f4), bitrate/10)},
	}
}

// ladder is the room's rungs: Ladder, or the default for the canvas.
func (o Options) ladder() []Rung {
	if len(o.Ladder) > 0 {
		return o.Ladder
	}
	return DefaultLadder(o.Width, o.Height, o.FPS, o.VideoBitrate)
}

func (o Options) validateLadder() error {
	if len(o.Ladder) > MaxRungs {
		return fmt.Errorf("%w: %d rungs (at most %d)", ErrBadOptions, len(o.Ladder), MaxRungs)
	}
	for i, r := range o.Ladder {
		switch {
		case r.Width < 16 || r.Height < 16 || r.Width%2 != 0 || r.Height%2 != 0 || r.Width > o.Width || r.Height > o.Height:
			return fmt.Errorf("%w: rung %d is %dx%d (even, 16 up to the %dx%d canvas)", ErrBadOptions, i, r.Width, r.Height, o.Width, o.Height)
		case r.FPS < 1 || r.FPS > o.FPS || o.FPS%r.FPS != 0:
			return fmt.Errorf("%w: rung %d at %d fps (must divide the canvas's %d fps)", ErrBadOptions, i, r.FPS, o.FPS)
		case r.BitrateBps <= 0 || (i > 0 && r.BitrateBps >= o.Ladder[i-1].BitrateBps):
			return fmt.Errorf("%w: rung %d at %d b/s (positive, below the rung above)", ErrBadOptions, i, r.BitrateBps)
		}
	}
	return nil
}

// DefaultOptions are the options of rooms created by a first join.
func DefaultOptions() Options {
	mo := mixer.DefaultOptions()
	// Gate silent inputs out of the mix: less summed background noise, and
	// listeners who contribute nothing share one encode of the full mix.
	mo.GateDB = -50
	return Options{Width: 1280, Height: 720, FPS: 30, VideoCodecs: []string{"video/VP8", "video/H264"}, Mixer: mo}
}

// Validate checks the options.
func (o Options) Validate() error {
	switch {
	case o.Width < 16 || o.Height < 16 || o.Width > 4096 || o.Height > 4096 || o.Width%2 != 0 || o.Height%2 != 0:
		return fmt.Errorf("%w: canvas %dx%d (even, 16 to 4096)", ErrBadOptions, o.Width, o.Height)
	case o.FPS < 1 || o.FPS > 60:
		return fmt.Errorf("%w: %d fps (1 to 60)", ErrBadOptions, o.FPS)
	case o.MaxParticipants < 0 || o.VideoBitrate < 0 || o.MaxSpeakers < 0:
		return fmt.Errorf("%w: negative limit", ErrBadOptions)
	case o.AudioComplexity < 0 || o.AudioComplexity > 10:
		return fmt.Errorf("%w: audio complexity %d (1 to 10, or 0 for the default)", ErrBadOptions, o.AudioComplexity)
	case len(o.VideoCodecs) == 0:
		return fmt.Errorf("%w: no video codec", ErrBadOptions)
	}
	if err := o.Mixer.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadOptions, err)
	}
	return o.validateLadder()
}

// Config configures a Manager.
type Config struct {
	Registry *codec.Registry // required
	Defaults Options
	Logger   *slog.Logger // nil: slog.Default()
	Clock    media.Clock  // nil: the system clock
	Metrics  Metrics      // nil: none
	// OnEvent, if set, is told of every event. It is called on the room's
	// goroutines, sometimes with a room's lock held: it must return
	// quickly and never call back into the manager.
	OnEvent func(Event)

	// phaseStep, when set, replaces maxPhaseStep: tests of how the clock
	// follows a speaker run it faster than a listener's stream allows.
	phaseStep time.Duration
}

// Manager owns the rooms of a server.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	stats counters

	mu     sync.Mutex
	rooms  map[media.RoomID]*Room
	closed bool
}

// NewManager validates cfg and returns an empty manager.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Registry == nil {
		return nil, fmt.Errorf("%w: no codec registry", ErrBadOptions)
	}
	if err := cfg.Defaults.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = media.SystemClock{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	return &Manager{cfg: cfg, log: cfg.Logger.With("component", "room"), rooms: make(map[media.RoomID]*Room)}, nil
}

// Join adds a participant to the room, creating the room with the default
// options if it does not exist.
func (m *Manager) Join(id media.RoomID, p JoinParams) (media.ParticipantID, error) {
	if p.Peer == nil {
		return "", fmt.Errorf("%w: no peer", ErrBadOptions)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return "", ErrClosed
	}
	r, ok := m.rooms[id]
	if !ok && p.MustExist {
		return "", fmt.Errorf("%w: %s", ErrUnknownRoom, id)
	}
	if !ok {
		var err error
		if r, err = m.createLocked(id, m.cfg.Defaults); err != nil {
			return "", err
		}
	}
	pid, err := r.add(p)
	if err != nil && !ok {
		// Do not leave behind a room that only existed for a failed join;
		// it has no members, so there are no peers to close.
		m.deleteLocked(r)
	}
	if err == nil {
		m.cfg.OnEvent(Event{Type: EventJoined, Room: id, Participant: pid, At: m.cfg.Clock.Now()})
	}
	return pid, err
}

// Leave removes a participant and closes its peer. An empty room is deleted
// unless it was created to be kept.
func (m *Manager) Leave(id media.RoomID, pid media.ParticipantID) error {
	m.mu.Lock()
	r, ok := m.rooms[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownRoom, id)
	}
	pt, left, err := r.remove(pid)
	if err == nil && left == 0 && !r.opts.KeepWhenEmpty {
		m.deleteLocked(r)
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.cfg.OnEvent(Event{Type: EventLeft, Room: id, Participant: pid, At: m.cfg.Clock.Now()})
	// Outside the lock: closing a peer can call back into Leave.
	return pt.finish()
}

// deleteLocked stops an empty room and forgets it.
func (m *Manager) deleteLocked(r *Room) {
	delete(m.rooms, r.id)
	r.close() // empty, so no peers come back
	m.log.Info("room deleted", "room", r.id)
	m.cfg.OnEvent(Event{Type: EventRoomDeleted, Room: r.id, At: m.cfg.Clock.Now()})
}

func (m *Manager) createLocked(id media.RoomID, opts Options) (*Room, error) {
	r, err := newRoom(id, opts, m)
	if err != nil {
		return nil, err
	}
	m.rooms[id] = r
	m.log.Info("room created", "room", id)
	m.cfg.OnEvent(Event{Type: EventRoomCreated, Room: id, At: m.cfg.Clock.Now()})
	return r, nil
}

// CreateRoom creates a room with opts (validated) that stays until deleted
// unless opts say otherwise.
func (m *Manager) CreateRoom(id media.RoomID, opts Options) (*Room, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if _, ok := m.rooms[id]; ok {
		return nil, fmt.Errorf("%w: %s", ErrRoomExists, id)
	}
	return m.createLocked(id, opts)
}

// DeleteRoom removes every participant and the room.
func (m *Manager) DeleteRoom(id media.RoomID) error {
	m.mu.Lock()
	r, ok := m.rooms[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownRoom, id)
	}
	delete(m.rooms, id)
	m.mu.Unlock()
	var errs []error
	for _, p := range r.close() {
		m.cfg.OnEvent(Event{Type: EventLeft, Room: id, Participant: p.id, At: m.cfg.Clock.Now()})
		errs = append(errs, p.finish())
	}
	m.log.Info("room deleted", "room", id)
	m.cfg.OnEvent(Event{Type: EventRoomDeleted, Room: id, At: m.cfg.Clock.Now()})
	return errors.Join(errs...)
}

// Defaults returns the options of rooms created by a first join.
func (m *Manager) Defaults() Options { return m.cfg.Defaults }

// VideoCodecs returns the video codec preference of the room, or of a room
// that a first join would create.
func (m *Manager) VideoCodecs(id media.RoomID) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.rooms[id]; ok {
		return r.opts.VideoCodecs
	}
	return m.cfg.Defaults.VideoCodecs
}

// Room returns the room with that ID.
func (m *Manager) Room(id media.RoomID) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rooms[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownRoom, id)
	}
	return r, nil
}

// Rooms lists the room IDs, sorted.
func (m *Manager) Rooms() []media.RoomID {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]media.RoomID, 0, len(m.rooms))
	for id := range m.rooms {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Stats returns the manager-wide counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	s := Stats{Rooms: len(m.rooms)}
	for _, r := range m.rooms {
		s.Participants += r.Len()
		for i := range s.RungEncoders {
			n := r.rungEncoders[i].Load()
			s.RungEncoders[i] += n
			s.VideoEncoders += n
		}
		s.VideoPaused += r.pausedReceivers()
	}
	m.mu.Unlock()
	c := &m.stats
	s.Ticks, s.LateTicks, s.SkippedTicks = c.ticks.Load(), c.lateTicks.Load(), c.skippedTicks.Load()
	s.ConcealedFrames, s.FECFrames, s.SilentFrames = c.concealed.Load(), c.fec.Load(), c.silentFrames.Load()
	s.DecodeErrors, s.EncodeErrors, s.LimitedSamples = c.decodeErrs.Load(), c.encodeErrs.Load(), c.limited.Load()
	s.AudioEncodes = c.encodes.Load()
	s.VideoTicks, s.VideoSkipped, s.VideoDecoded = c.videoTicks.Load(), c.videoSkipped.Load(), c.videoDecoded.Load()
	s.VideoDecodeErrors, s.VideoEncodeErrors, s.KeyFramesForced = c.videoDecodeErrs.Load(), c.videoEncodeErrs.Load(), c.keyFramesForced.Load()
	s.RungSwitches, s.PaddingBytes = c.rungSwitches.Load(), c.paddingBytes.Load()
	for i := range s.RungKeyFramesForced {
		s.RungKeyFramesForced[i] = c.rungKeysForced[i].Load()
	}
	s.DTMF = c.dtmf.Load()
	return s
}

// Close stops every room and closes every peer. Joins after Close fail.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	rooms := m.rooms
	m.rooms = map[media.RoomID]*Room{}
	m.mu.Unlock()
	var errs []error
	for _, r := range rooms {
		for _, p := range r.close() {
			errs = append(errs, p.finish())
		}
	}
	return errors.Join(errs...)
}

func newParticipantID() media.ParticipantID {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return media.ParticipantID(hex.EncodeToString(b[:]))
}
