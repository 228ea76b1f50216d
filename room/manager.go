package room

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// Config configures a Manager.
type Config struct {
	Registry *codec.Registry // required
	Defaults Options
	Logger   *slog.Logger // nil: slog.Default()
	Clock    media.Clock  // nil: the system clock
	Metrics  Metrics      // nil: none
	// MaxRooms and MaxParticipants bound the whole server (0: no bound),
	// so that strangers posting offers cannot make it run out of memory or
	// CPU; Options.MaxParticipants bounds each room.
	MaxRooms, MaxParticipants int
	// OnEvent, if set, is told of every event. It is called on the rooms'
	// goroutines and the callers', sometimes with a room's lock held: it
	// must return quickly and never call back into the manager.
	OnEvent func(Event)
	// Claim, if set, is asked before a room is created whether this
	// server may host it (in a cluster: it claims the room's home in the
	// directory); an error refuses the creation. release is called once
	// the room is gone.
	Claim func(media.RoomID) (release func(), err error)
	// IDPrefix starts every participant ID (in a cluster: the node's id,
	// so that a participant's requests route to its node without a
	// lookup).
	IDPrefix string
	// Cores is how many cores the rooms' media work may use: the audio
	// clock's workers and the video threads (videoworkers.go) are sized
	// from it (0: GOMAXPROCS). The mcu runs with one P more than this, so
	// that video busy on every core leaves a P to the audio clock.
	Cores int

	// phaseStep, when set, replaces maxPhaseStep: tests of how the clock
	// follows a speaker run it faster than a listener's stream allows.
	phaseStep time.Duration
}

// Manager owns the rooms of a server. Its lock guards only the map of
// rooms: it is never held while a room does anything.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	stats counters
	// participants counts every room's roster, for Config.MaxParticipants.
	participants atomic.Int64
	// failing are the removals of failed participants under way.
	failing sync.WaitGroup

	mu     sync.Mutex
	rooms  map[media.RoomID]*Room
	closed bool
	// claiming are the rooms whose home is being claimed (Config.Claim),
	// closed when the claim is done: a second creation waits for it.
	claiming map[media.RoomID]chan struct{}
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
	if cfg.Cores <= 0 {
		cfg.Cores = runtime.GOMAXPROCS(0)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	if cfg.Claim == nil {
		cfg.Claim = func(media.RoomID) (func(), error) { return func() {}, nil }
	}
	return &Manager{cfg: cfg, log: cfg.Logger.With("component", "room"), rooms: make(map[media.RoomID]*Room), claiming: map[media.RoomID]chan struct{}{}}, nil
}

// Join adds a participant to the room, creating the room with the default
// options if it does not exist. It does not wait for the room's clocks.
func (m *Manager) Join(id media.RoomID, p JoinParams) (media.ParticipantID, error) {
	if p.Peer == nil {
		return "", fmt.Errorf("%w: no peer", ErrBadOptions)
	}
	for {
		r, created, err := m.roomFor(id, p.MustExist)
		if err != nil {
			return "", err
		}
		pid, replaced, err := r.add(p)
		if errors.Is(err, errRoomGone) {
			continue // its last participant left meanwhile: find or make the next one
		}
		if err != nil {
			if created {
				// Do not leave behind a room that only existed for a
				// failed join.
				m.deleteIfEmpty(r)
			}
			return "", err
		}
		if replaced != nil {
			m.left(id, replaced)
			if err := replaced.finish(); err != nil {
				m.log.Debug("closing a replaced participant", "err", err)
			}
		}
		if !p.Hidden {
			m.cfg.OnEvent(Event{Type: EventJoined, Room: id, Participant: pid, At: m.cfg.Clock.Now()})
		}
		return pid, nil
	}
}

// roomFor finds the room, or creates it with the default options.
func (m *Manager) roomFor(id media.RoomID, mustExist bool) (*Room, bool, error) {
	if mustExist {
		r, err := m.Room(id)
		return r, false, err
	}
	return m.create(id, m.cfg.Defaults, false)
}

// create creates a room with opts once its home is claimed; a room of
// that name is returned, or with mustBeNew refused with ErrRoomExists. The claim (Config.Claim) may ask the cluster, so it is made
// outside the lock; creations of one room wait for each other's claims.
func (m *Manager) create(id media.RoomID, opts Options, mustBeNew bool) (*Room, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		if m.closed {
			return nil, false, ErrClosed
		}
		if r, ok := m.rooms[id]; ok {
			if mustBeNew {
				return nil, false, fmt.Errorf("%w: %s", ErrRoomExists, id)
			}
			return r, false, nil
		}
		if err := m.roomCapLocked(); err != nil {
			return nil, false, err
		}
		wait, ok := m.claiming[id]
		if !ok {
			break
		}
		m.mu.Unlock()
		<-wait
		m.mu.Lock()
	}
	done := make(chan struct{})
	m.claiming[id] = done
	m.mu.Unlock()
	release, err := m.cfg.Claim(id)
	m.mu.Lock()
	delete(m.claiming, id)
	close(done)
	if err != nil {
		return nil, false, err
	}
	var r *Room
	if m.closed {
		err = ErrClosed
	} else {
		r, err = m.createLocked(id, opts, release)
	}
	if err != nil {
		release()
		return nil, false, err
	}
	return r, true, nil
}

// Leave removes a participant and closes its peer. An empty room is deleted
// unless it was created to be kept.
func (m *Manager) Leave(id media.RoomID, pid media.ParticipantID) error {
	r, err := m.Room(id)
	if err != nil {
		return err
	}
	pt, err := r.remove(pid)
	if err != nil {
		return err
	}
	m.left(id, pt)
	if !r.keepWhenEmpty() {
		m.deleteIfEmpty(r)
	}
	// Outside every lock: closing a peer can call back into Leave.
	return pt.finish()
}

// left announces that a listed participant left.
func (m *Manager) left(id media.RoomID, p *participant) {
	if !p.hidden {
		m.cfg.OnEvent(Event{Type: EventLeft, Room: id, Participant: p.id, At: m.cfg.Clock.Now()})
	}
}

// deleteIfEmpty deletes r if nobody is in it (a join that raced ahead
// keeps it). Whoever takes a room out of the map stops its clocks.
func (m *Manager) deleteIfEmpty(r *Room) {
	m.mu.Lock()
	if m.rooms[r.id] != r {
		m.mu.Unlock()
		return
	}
	if _, ok := r.shut(true); !ok {
		m.mu.Unlock()
		return
	}
	delete(m.rooms, r.id)
	m.mu.Unlock()
	r.stopClocks()
	r.release()
	m.log.Info("room deleted", "room", r.id)
	m.cfg.OnEvent(Event{Type: EventRoomDeleted, Room: r.id, At: m.cfg.Clock.Now()})
}

// createLocked makes and starts the room, whose home release gives up.
func (m *Manager) createLocked(id media.RoomID, opts Options, release func()) (*Room, error) {
	r, err := newRoom(id, opts, m)
	if err != nil {
		return nil, err
	}
	r.release = release
	r.run()
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
	r, _, err := m.create(id, opts, true)
	return r, err
}

// roomCapLocked refuses another room beyond Config.MaxRooms.
func (m *Manager) roomCapLocked() error {
	if m.cfg.MaxRooms > 0 && len(m.rooms) >= m.cfg.MaxRooms {
		return fmt.Errorf("%w: at its limit of %d rooms", ErrServerFull, m.cfg.MaxRooms)
	}
	return nil
}

// reserve takes a participant place on the server (Config.MaxParticipants).
func (m *Manager) reserve() error {
	for {
		n := m.participants.Load()
		if m.cfg.MaxParticipants > 0 && n >= int64(m.cfg.MaxParticipants) {
			return fmt.Errorf("%w: at its limit of %d participants", ErrServerFull, m.cfg.MaxParticipants)
		}
		if m.participants.CompareAndSwap(n, n+1) {
			return nil
		}
	}
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
	members, _ := r.shut(false)
	r.stopClocks()
	r.release()
	var errs []error
	for _, p := range members {
		m.left(id, p)
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
	if r, err := m.Room(id); err == nil {
		return r.Info().Options.VideoCodecs
	}
	return m.cfg.Defaults.VideoCodecs
}

// Identity returns the identity a participant joined with ("" for none).
func (m *Manager) Identity(id media.RoomID, pid media.ParticipantID) (string, error) {
	var who string
	err := m.withMember(id, pid, func(pt *participant) { who = pt.identity })
	return who, err
}

// withMember runs f on a participant under its room's lock.
func (m *Manager) withMember(id media.RoomID, pid media.ParticipantID, f func(*participant)) error {
	r, err := m.Room(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, err := r.indexLocked(pid)
	if err != nil {
		return err
	}
	f(r.roster[i])
	return nil
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
	return slices.Sorted(maps.Keys(m.rooms))
}

// Stats returns the manager-wide counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	rooms := slices.Collect(maps.Values(m.rooms))
	m.mu.Unlock()
	s := Stats{Rooms: len(rooms)}
	for _, r := range rooms {
		s.Participants += r.Len()
		for i := range s.RungEncoders {
			n := r.rungEncoders[i].Load()
			s.RungEncoders[i] += n
			s.VideoEncoders += n
		}
		s.VideoPaused += r.pausedReceivers()
	}
	c := &m.stats
	s.Ticks, s.LateTicks, s.SkippedTicks = c.ticks.Load(), c.lateTicks.Load(), c.skippedTicks.Load()
	s.ConcealedFrames, s.FECFrames, s.SilentFrames = c.concealed.Load(), c.fec.Load(), c.silentFrames.Load()
	s.DecodeErrors, s.EncodeErrors, s.LimitedSamples = c.decodeErrs.Load(), c.encodeErrs.Load(), c.limited.Load()
	s.AudioEncodes = c.encodes.Load()
	s.VideoTicks, s.VideoSkipped, s.VideoDecoded = c.videoTicks.Load(), c.videoSkipped.Load(), c.videoDecoded.Load()
	s.VideoDecodeErrors, s.VideoEncodeErrors, s.KeyFramesForced = c.videoDecodeErrs.Load(), c.videoEncodeErrs.Load(), c.keyFramesForced.Load()
	s.VideoUnchanged = c.videoUnchanged.Load()
	s.RungSwitches, s.PaddingBytes = c.rungSwitches.Load(), c.paddingBytes.Load()
	for i := range s.RungKeyFramesForced {
		s.RungKeyFramesForced[i] = c.rungKeysForced[i].Load()
	}
	s.DTMF = c.dtmf.Load()
	s.ParticipantFailures = c.failures.Load()
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
		members, _ := r.shut(false)
		r.stopClocks()
		r.release()
		for _, p := range members {
			errs = append(errs, p.finish())
		}
	}
	m.failing.Wait()
	return errors.Join(errs...)
}

// Fail removes a participant whose transport broke (cause: what panicked
// there), as a failure: counted in Stats.ParticipantFailures, with a left
// event; it returns at once.
func (m *Manager) Fail(id media.RoomID, pid media.ParticipantID, cause error) error {
	return m.withMember(id, pid, func(pt *participant) { m.fail(id, pt, cause) })
}

// fail removes a participant whose own work panicked or could not start,
// once, on a goroutine of its own: the caller may be one of the room's
// clocks, which the removal of a last participant stops. Everyone else
// carries on.
func (m *Manager) fail(id media.RoomID, pt *participant, cause any) {
	if !pt.failed.CompareAndSwap(false, true) {
		return
	}
	m.stats.failures.Add(1)
	m.log.Error("participant failed; removing it", "room", id, "participant", pt.id, "cause", cause)
	m.failing.Go(func() {
		if err := m.Leave(id, pt.id); err != nil && !errors.Is(err, ErrUnknownRoom) && !errors.Is(err, ErrUnknownParticipant) {
			m.log.Warn("removing a failed participant", "participant", pt.id, "err", err)
		}
	})
}

func newParticipantID() media.ParticipantID {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return media.ParticipantID(hex.EncodeToString(b[:]))
}
