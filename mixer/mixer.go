// Package mixer sums the audio of a room's participants once per 20 ms tick
// and gives every listener the full mix minus their own voice ("mix-minus"),
// through a stateless soft limiter. It also measures each participant's
// level (dBov, RFC 6464 sense) and detects who is talking.
//
// The package is pure: no goroutines, no wall clock (the tick time is passed
// to Mix), no network, no cgo. A Mixer and its Inputs are owned by one
// goroutine (the room's audio clock, or whoever holds the room lock); they
// are not safe for concurrent use, except LimitedSamples, which a metrics
// collector may read at any time.
//
// One tick:
//
//	for each participant: decode into in.Frame(), in.SetPresent(true)
//	stats := m.Mix(now)                    // sum once, levels, talking
//	for each sender:   m.MixMinus(in, out) // everyone but themselves
//	for listeners:     m.MixAll(out)       // computed once, then copied
//	for _, c := range m.TalkingChanges() { ... }
//
// Arithmetic, so tests can state exact samples:
//
//   - Gain is Q16 fixed point: g = round(10^(dB/20) * 65536), and a sample s
//     contributes c = (s*g + 32768) >> 16 (arithmetic shift: rounds to
//     nearest, halves toward +inf). 0 dB is g = 65536, so c = s exactly.
//     +6 dB is g = 130762, -6 dB is g = 32846: s = 1000 gives 1995 and 501.
//   - A muted or absent input contributes 0.
//   - total[i] is the int32 sum of all contributions; MixAll outputs
//     Limit(total[i]), MixMinus(in) outputs Limit(total[i] - c_in[i]).
//     See Limit for the curve.
package mixer

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/media"
)

// Gain limits accepted by Input.SetGainDB. +20 dB bounds one contribution
// to 32768*10 = 327680, which is what makes the int32 sum safe (see
// MaxInputsLimit); -60 dB is practically silent and anything lower is mute.
const (
	MinGainDB = -60.0
	MaxGainDB = 20.0
)

// MaxInputsLimit is the largest Options.MaxInputs. With every input at
// +20 dB and full scale, 4096 * 327680 = 1 342 177 280 < 2^31-1, so the
// int32 sum (and total minus own) can never overflow.
const MaxInputsLimit = 4096

// SilenceDBov is the level of digital silence, the floor of RFC 6464.
const SilenceDBov = -127.0

const (
	gainShift = 16
	unityGain = 1 << gainShift
	gainRound = 1 << (gainShift - 1)
)

// fullScaleSquareDB is 20*log10(32768): 0 dBov is a full-scale square wave
// (RFC 6464), i.e. an RMS of 32768.
var fullScaleSquareDB = 20 * math.Log10(32768)

// Options configure a Mixer. Start from DefaultOptions and change fields;
// New rejects a zero Options rather than guessing.
type Options struct {
	// MaxInputs bounds how many inputs Add accepts, in [1, MaxInputsLimit].
	MaxInputs int

	// TalkOnDB: an input starts talking once its frame level (dBov) has
	// been above this in every tick for TalkStartDelay. In [-127, 0].
	TalkOnDB float64
	// TalkOffDB: a talking input stops once its frame level has been below
	// this in every tick for TalkHangTime. In [-127, TalkOnDB]; the gap
	// between the two thresholds is the hysteresis.
	TalkOffDB float64
	// TalkStartDelay is how long the level must stay above TalkOnDB, from
	// the first tick above it to the tick that declares talking, so a click
	// or a cough does not flash the speaker indicator. >= 0; 0 starts on
	// the first loud frame.
	TalkStartDelay time.Duration
	// TalkHangTime is how long the level must stay below TalkOffDB before
	// talking stops, so pauses between words do not toggle it. >= 0.
	TalkHangTime time.Duration

	// GateDB is a noise gate: an input that is not talking contributes to
	// the mix only frames at or above this level (dBov), so silent
	// participants add no background noise and — contributing nothing —
	// can share one encode of the full mix. Talking inputs always
	// contribute (pauses between words stay natural); onsets pass at once.
	// SilenceDBov (the default) turns the gate off.
	GateDB float64

	// LevelReleaseDB is the most Input.Level may fall per tick (20 ms);
	// rises are immediate. It smooths the meter the room reports (RFC 6464
	// extension, events) without delaying attacks. In (0, 127].
	LevelReleaseDB float64
}

// DefaultOptions returns the defaults: 1024 inputs, talking on above
// -40 dBov for 40 ms (three consecutive frames), off below -50 dBov for
// 500 ms, level meter falling at most 2 dB per frame (100 dB/s).
func DefaultOptions() Options {
	return Options{
		MaxInputs:      1024,
		TalkOnDB:       -40,
		TalkOffDB:      -50,
		TalkStartDelay: 40 * time.Millisecond,
		TalkHangTime:   500 * time.Millisecond,
		GateDB:         SilenceDBov,
		LevelReleaseDB: 2,
	}
}

// Validate reports the first field outside its range, wrapping
// ErrInvalidOptions. Comparisons are written so that NaN fails them.
func (o Options) Validate() error {
	switch {
	case o.MaxInputs < 1 || o.MaxInputs > MaxInputsLimit:
		return fmt.Errorf("%w: MaxInputs %d not in [1, %d]", ErrInvalidOptions, o.MaxInputs, MaxInputsLimit)
	case !(o.TalkOnDB >= SilenceDBov && o.TalkOnDB <= 0):
		return fmt.Errorf("%w: TalkOnDB %v not in [-127, 0]", ErrInvalidOptions, o.TalkOnDB)
	case !(o.TalkOffDB >= SilenceDBov && o.TalkOffDB <= o.TalkOnDB):
		return fmt.Errorf("%w: TalkOffDB %v not in [-127, TalkOnDB=%v]", ErrInvalidOptions, o.TalkOffDB, o.TalkOnDB)
	case o.TalkStartDelay < 0:
		return fmt.Errorf("%w: TalkStartDelay %v negative", ErrInvalidOptions, o.TalkStartDelay)
	case o.TalkHangTime < 0:
		return fmt.Errorf("%w: TalkHangTime %v negative", ErrInvalidOptions, o.TalkHangTime)
	case !(o.GateDB >= SilenceDBov && o.GateDB <= 0):
		return fmt.Errorf("%w: GateDB %v not in [-127, 0]", ErrInvalidOptions, o.GateDB)
	case !(o.LevelReleaseDB > 0 && o.LevelReleaseDB <= -SilenceDBov):
		return fmt.Errorf("%w: LevelReleaseDB %v not in (0, 127]", ErrInvalidOptions, o.LevelReleaseDB)
	}
	return nil
}

// Stats describe one Mix.
type Stats struct {
	Inputs  int // inputs in the mixer
	Present int // inputs whose Frame held audio this tick
	Mixed   int // present and unmuted: the inputs summed into the mix
	Talking int // inputs talking after this tick
	// PeakSum is the largest |sample| of the full pre-limit sum. Above Knee
	// the full mix is being limited; above 32767 it would have clipped.
	PeakSum int32
}

// TalkingChange reports that an input started or stopped talking in the
// last Mix. Level is its smoothed level (dBov) after that Mix.
type TalkingChange struct {
	ID      media.ParticipantID
	Talking bool
	Level   float64
}

// Mixer mixes a room's audio. Create it with New.
type Mixer struct {
	opts Options

	// inputs is a slice, not a map, so each tick iterates without
	// allocating and in a stable order; Remove swap-deletes.
	inputs []*Input

	// total is the int32 sum of every contribution of the last Mix (kept
	// current by Remove).
	total [media.FrameSamples]int32

	// all caches Limit(total): listeners who contribute nothing all get the
	// same bytes, so it is computed at most once per tick.
	all      media.AudioFrame
	allValid bool

	// changes is reused every tick; Add keeps cap >= len(inputs) so Mix
	// never grows it.
	changes []TalkingChange

	// limited counts samples compressed by the limiter. Atomic because a
	// Prometheus collector reads it from its own goroutine.
	limited atomic.Uint64
}

// New returns a Mixer with validated options.
func New(opts Options) (*Mixer, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Mixer{opts: opts}, nil
}

// Options returns the options the mixer was created with.
func (m *Mixer) Options() Options { return m.opts }

// Input is the mixer's handle for one participant. The room owns it between
// Add and Remove. All methods are for the mixer's owning goroutine.
type Input struct {
	m   *Mixer // nil once removed
	idx int    // position in m.inputs, so Remove is O(1)
	id  media.ParticipantID

	frame   media.AudioFrame
	contrib [media.FrameSamples]int32 // post-gain contribution of last Mix

	gainDB float64
	gainQ  int64 // Q16, see package doc

	muted        bool
	suppressed   bool // left out of the sum this tick (speaker cap), still measured
	present      bool // Frame holds audio for the coming Mix
	contributing bool // contrib is part of m.total

	level    float64 // smoothed dBov
	rawLevel float64 // last frame's dBov (0 frames: silence)

	talking    bool
	aboveSet   bool // aboveSince is valid
	aboveSince time.Time
	belowSet   bool // belowSince is valid
	belowSince time.Time
}

// Add creates the input for a participant. IDs need not be unique; the
// handle is the identity. Add returns nil when the mixer already holds
// Options.MaxInputs inputs (the room should refuse the participant first;
// check Len against Options().MaxInputs).
func (m *Mixer) Add(id media.ParticipantID) *Input {
	if len(m.inputs) >= m.opts.MaxInputs {
		return nil
	}
	in := &Input{
		m:        m,
		idx:      len(m.inputs),
		id:       id,
		gainQ:    unityGain,
		level:    SilenceDBov,
		rawLevel: SilenceDBov,
	}
	m.inputs = append(m.inputs, in)
	// At most one change per input per tick: reserve the room now, at a
	// membership change, rather than inside Mix.
	if cap(m.changes) < len(m.inputs) {
		c := make([]TalkingChange, len(m.changes), 2*len(m.inputs))
		copy(c, m.changes)
		m.changes = c
	}
	return in
}

// Remove takes the input out of the mixer. If it contributed to the last
// Mix, its contribution is subtracted, so later MixAll/MixMinus calls in the
// same tick no longer carry it. Removing twice, removing nil or an input of
// another mixer does nothing. Remove queues no TalkingChange (the room
// announces the leave itself); the input's Talking becomes false.
func (m *Mixer) Remove(in *Input) {
	if in == nil || in.m != m {
		return
	}
	if in.contributing {
		for i, c := range in.contrib {
			m.total[i] -= c
		}
		m.allValid = false
		in.contributing = false
	}
	last := len(m.inputs) - 1
	moved := m.inputs[last]
	m.inputs[in.idx] = moved
	moved.idx = in.idx
	m.inputs[last] = nil // let the removed input be collected
	m.inputs = m.inputs[:last]
	in.m, in.idx = nil, -1
	in.talking, in.aboveSet, in.belowSet = false, false, false
}

// Len returns the number of inputs.
func (m *Mixer) Len() int { return len(m.inputs) }

// ID returns the participant the input was added for.
func (in *Input) ID() media.ParticipantID { return in.id }

// Frame returns the buffer the room fills before each Mix. It stays valid
// (and owned by the input) for the input's lifetime.
func (in *Input) Frame() *media.AudioFrame { return &in.frame }

// SetPresent says whether Frame holds audio for the next Mix. It is per
// tick: Mix consumes it and resets it to false, so a participant whose
// decoder produced nothing this tick contributes silence instead of
// replaying a stale frame. An absent input contributes nothing, counts as
// silence for talking detection, and its level decays.
func (in *Input) SetPresent(ok bool) { in.present = ok }

// SetGainDB sets the input's gain in dB, in [MinGainDB, MaxGainDB]; 0 dB by
// default. NaN, infinities and values outside the range return
// ErrGainOutOfRange and leave the gain unchanged. The gain takes effect at
// the next Mix and is applied as the Q16 factor round(10^(dB/20) * 65536).
func (in *Input) SetGainDB(db float64) error {
	if err := CheckGainDB(db); err != nil {
		return err
	}
	in.gainDB = db
	in.gainQ = gainQ16(db)
	return nil
}

// CheckGainDB returns ErrGainOutOfRange unless db is a gain SetGainDB
// takes, so that a caller can refuse a bad gain before queueing it.
func CheckGainDB(db float64) error {
	if !(db >= MinGainDB && db <= MaxGainDB) {
		return fmt.Errorf("%w: %v dB not in [%v, %v]", ErrGainOutOfRange, db, MinGainDB, MaxGainDB)
	}
	return nil
}

// GainDB returns the gain set by SetGainDB.
func (in *Input) GainDB() float64 { return in.gainDB }

func gainQ16(db float64) int64 {
	return int64(math.Round(math.Pow(10, db/20) * unityGain))
}

// Suppress leaves the input out of the next Mix's sum only: its level and
// talking state are still measured, so a room that caps how many speakers
// are mixed (the loudest N) can let it back in when it gets louder. Like
// SetPresent it lasts one tick.
func (in *Input) Suppress() { in.suppressed = true }

// SetMuted mutes or unmutes the input from the next Mix. A muted input
// contributes nothing and is never talking (muting a talking input stops it
// at the next Mix, with a TalkingChange), but Level still measures what it
// sends, so a client can be told it is talking while muted.
func (in *Input) SetMuted(muted bool) { in.muted = muted }

// Muted reports whether the input is muted.
func (in *Input) Muted() bool { return in.muted }

// Level returns the smoothed level of the received audio, before gain and
// mute, in dBov as RFC 6464 defines it: 0 is a full-scale square wave
// (RMS 32768), a full-scale sine is about -3, silence is -127. It rises
// immediately and falls at most Options.LevelReleaseDB per tick.
func (in *Input) Level() float64 { return in.level }

// FrameLevel returns the unsmoothed level (dBov) of the frame received in
// the last Mix, -127 if it was absent: the per-packet value RFC 6464 puts in
// the audio-level header extension. Talking detection uses this value.
func (in *Input) FrameLevel() float64 { return in.rawLevel }

// Contributing reports whether the input is part of the last Mix's sum. A
// listener that is not hears exactly MixAll, the same bytes as every other
// such listener.
func (in *Input) Contributing() bool { return in.contributing }

// Talking reports whether the input is talking, with the hysteresis and
// timing of Options.
func (in *Input) Talking() bool { return in.talking }

// Mix runs one tick: it sums every present, unmuted input once (after gain)
// into the int32 total, keeps each input's contribution for MixMinus,
// updates levels and talking state using now, and returns the tick's stats.
// now is the tick's time (the room's audio clock); talking timing depends on
// it, not on tick counts, so late or catch-up ticks are judged correctly.
func (m *Mixer) Mix(now time.Time) Stats {
	clear(m.total[:])
	m.allValid = false
	m.changes = m.changes[:0]
	st := Stats{Inputs: len(m.inputs)}
	for _, in := range m.inputs {
		in.contributing = false
		raw := SilenceDBov
		if in.present {
			st.Present++
			var sumSq uint64
			switch {
			case in.muted || in.suppressed:
				sumSq = frameSumSq(&in.frame)
			case !in.talking && m.opts.GateDB > SilenceDBov:
				// Measure first: most such frames are silence and stop here.
				if sumSq = frameSumSq(&in.frame); sumSqDBov(sumSq) >= m.opts.GateDB {
					in.accumulate(&m.total)
					in.contributing = true
					st.Mixed++
				}
			default:
				sumSq = in.accumulate(&m.total)
				in.contributing = true
				st.Mixed++
			}
			raw = sumSqDBov(sumSq)
		}
		in.present, in.suppressed = false, false
		in.rawLevel = raw
		// Instant attack, bounded release: a meter that follows speech up
		// at once but does not flicker between syllables.
		if raw >= in.level {
			in.level = raw
		} else {
			in.level = max(raw, in.level-m.opts.LevelReleaseDB)
		}
		if m.detect(in, raw, now) {
			m.changes = append(m.changes, TalkingChange{ID: in.id, Talking: in.talking, Level: in.level})
		}
		if in.talking {
			st.Talking++
		}
	}
	var peak int32
	for _, v := range m.total {
		peak = max(peak, v, -v)
	}
	st.PeakSum = peak
	return st
}

// accumulate computes the input's contribution into in.contrib, adds it to
// total and returns the frame's sum of squares (for the level), all in one
// pass over the frame.
func (in *Input) accumulate(total *[media.FrameSamples]int32) uint64 {
	var sumSq uint64
	if in.gainQ == unityGain {
		// 0 dB is the common case: skip the multiply (result identical).
		for i, s := range in.frame.Samples {
			c := int32(s)
			in.contrib[i] = c
			total[i] += c
			sumSq += uint64(c * c)
		}
		return sumSq
	}
	g := in.gainQ
	for i, s := range in.frame.Samples {
		c := int32((int64(s)*g + gainRound) >> gainShift)
		in.contrib[i] = c
		total[i] += c
		sumSq += uint64(int64(s) * int64(s))
	}
	return sumSq
}

func frameSumSq(f *media.AudioFrame) uint64 {
	var sumSq uint64
	for _, s := range f.Samples {
		v := int32(s)
		sumSq += uint64(v * v)
	}
	return sumSq
}

// sumSqDBov converts a frame's sum of squares into dBov:
// 20*log10(rms/32768), clamped to [-127, 0].
func sumSqDBov(sumSq uint64) float64 {
	if sumSq == 0 {
		return SilenceDBov
	}
	db := 10*math.Log10(float64(sumSq)/float64(media.FrameSamples)) - fullScaleSquareDB
	return min(max(db, SilenceDBov), 0)
}

// detect advances the input's talking state for a frame of level raw at
// time now and reports whether Talking changed.
func (m *Mixer) detect(in *Input, raw float64, now time.Time) bool {
	o := &m.opts
	if in.muted {
		// Others do not hear a muted input, so it is not talking.
		in.aboveSet, in.belowSet = false, false
		if in.talking {
			in.talking = false
			return true
		}
		return false
	}
	if !in.talking {
		in.belowSet = false
		if raw <= o.TalkOnDB {
			in.aboveSet = false
			return false
		}
		if !in.aboveSet {
			in.aboveSet, in.aboveSince = true, now
		}
		if now.Sub(in.aboveSince) >= o.TalkStartDelay {
			in.talking, in.aboveSet = true, false
			return true
		}
		return false
	}
	in.aboveSet = false
	if raw >= o.TalkOffDB {
		in.belowSet = false
		return false
	}
	if !in.belowSet {
		in.belowSet, in.belowSince = true, now
	}
	if now.Sub(in.belowSince) >= o.TalkHangTime {
		in.talking, in.belowSet = false, false
		return true
	}
	return false
}

// MixMinus writes what in's participant hears: the limited mix of
// everyone but in. If in contributed nothing this tick (muted, absent, nil
// or not in this mixer) that is the full mix. A nil dst does nothing.
// Between two Mix calls, MixMinus for different contributing inputs may
// run at once: it only reads the mix and writes dst.
func (m *Mixer) MixMinus(in *Input, dst *media.AudioFrame) {
	if dst == nil {
		return
	}
	if in == nil || in.m != m || !in.contributing {
		m.MixAll(dst)
		return
	}
	m.limited.Add(limitFrame(dst, &m.total, &in.contrib))
}

// MixAll writes the limited full mix, for listeners who contribute nothing.
// It is computed once per tick and copied. A nil dst does nothing.
func (m *Mixer) MixAll(dst *media.AudioFrame) {
	if dst == nil {
		return
	}
	if !m.allValid {
		m.limited.Add(limitFrame(&m.all, &m.total, nil))
		m.allValid = true
	}
	dst.Samples = m.all.Samples
}

// TalkingChanges returns the talking transitions of the last Mix, at most
// one per input. The slice is reused: it is valid until the next Mix.
func (m *Mixer) TalkingChanges() []TalkingChange { return m.changes }

// LimitedSamples returns how many output samples the limiter has compressed
// (pre-limit |sum| > Knee) since New, counted once per output computed (the
// full mix once per tick, each MixMinus call). It only grows, for export
// as a Prometheus counter, and is safe to call from any goroutine.
func (m *Mixer) LimitedSamples() uint64 { return m.limited.Load() }
