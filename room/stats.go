package room

import (
	"github.com/mcu-project/mcu/ladder"
	"sync/atomic"
	"time"
)

// Metrics receives per-tick observations that need a distribution rather
// than a counter; cmd/mcu adapts it to Prometheus histograms.
type Metrics interface {
	ObserveTick(lateness, duration time.Duration)
	// ObservePlayout is how long an audio packet waited in its playout
	// buffer, from arrival to the tick that decoded it: the delay the
	// jitter buffer and the mixing clock add before mixing. A big room's
	// tick calls it from several goroutines at once (fanout.go).
	ObservePlayout(waited time.Duration)
}

type noMetrics struct{}

func (noMetrics) ObserveTick(time.Duration, time.Duration) {}
func (noMetrics) ObservePlayout(time.Duration)             {}

// Stats are cumulative counters over every room of a manager.
type Stats struct {
	Rooms, Participants int
	Ticks               uint64 // audio ticks run
	LateTicks           uint64 // ticks that started more than LateTickThreshold after their deadline
	SkippedTicks        uint64 // ticks dropped after a stall longer than the catch-up bound
	ConcealedFrames     uint64 // frames synthesised by packet-loss concealment
	SilentFrames        uint64 // incoming frames known to be silence (a repeat of the last silent packet) and not decoded
	FECFrames           uint64 // frames recovered from in-band FEC
	DecodeErrors        uint64
	EncodeErrors        uint64
	AudioEncodes        uint64 // audio frames encoded (shared encodes count once)
	LimitedSamples      uint64 // output samples the soft limiter compressed

	VideoTicks        uint64 // canvas frames produced (per room)
	VideoSkipped      uint64 // canvas frames skipped after the video clock stalled
	VideoDecoded      uint64 // incoming video frames decoded
	VideoDecodeErrors uint64 // incoming frames that failed to decode (a keyframe was requested)
	VideoEncodeErrors uint64
	KeyFramesForced   uint64 // keyframes forced on canvas encoders (new receivers, PLI/FIR)
	// VideoUnchanged counts rung frames not encoded because nothing on
	// the canvas changed since the rung's last frame (videostatic.go).
	VideoUnchanged uint64
	VideoEncoders  int64 // canvas encoders running now
	// RungEncoders counts the encoders running now on each ladder rung
	// (index 0 the top); VideoEncoders is their sum.
	RungEncoders [ladder.MaxRungs]int64
	RungSwitches uint64 // receivers moved between rungs (pauses included)
	// RungKeyFramesForced counts the keyframes forced per rung (their
	// share of KeyFramesForced).
	RungKeyFramesForced [ladder.MaxRungs]uint64
	VideoPaused         int64  // receivers getting audio only now
	PaddingBytes        uint64 // probe padding sent
	DTMF                uint64 // telephone keys received (RFC 4733)
	// ParticipantFailures counts participants removed because something
	// they drove (their decoding, their packet path) panicked.
	ParticipantFailures uint64
}

// LateTickThreshold is how late a tick may start before it counts as late.
const LateTickThreshold = 5 * time.Millisecond

// counters is shared by a manager's rooms; all fields are atomics so rooms
// update them without another lock.
type counters struct {
	ticks, lateTicks, skippedTicks         atomic.Uint64
	concealed, fec, decodeErrs, encodeErrs atomic.Uint64
	silentFrames                           atomic.Uint64
	encodes                                atomic.Uint64
	limited                                atomic.Uint64

	videoTicks, videoSkipped, videoDecoded            atomic.Uint64
	videoDecodeErrs, videoEncodeErrs, keyFramesForced atomic.Uint64
	videoUnchanged                                    atomic.Uint64
	rungSwitches, paddingBytes                        atomic.Uint64
	rungKeysForced                                    [ladder.MaxRungs]atomic.Uint64
	dtmf                                              atomic.Uint64
	failures                                          atomic.Uint64
}
