package room

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// audioOut is a listener's outgoing audio: its own encoder for the ticks
// it contributes to the mix (a mix-minus), and its RTP timestamps. Only
// the audio clock touches it.
type audioOut struct {
	enc       codec.AudioEncoder // nil: the participant receives no audio
	codec     string             // MIME type it receives audio in
	rate      int                // and that codec's RTP clock rate
	sharedKey string             // names the shared full-mix encode it can use
	bps       int                // the audio rate its link allows (audiorate.go)
	mix       media.AudioFrame
	pkt       [1500]byte
	encoded   int // size of this tick's encoded mix-minus in pkt; -1 when it failed
	tsOffset  uint32
	tsPerTick uint32
	// tsPhase is added to the timestamps: the room clock's phase when
	// this stream last had a gap to take it (see followPhase); lastSent
	// is the tick of the last packet sent, if sentAny.
	tsPhase  int64
	lastSent int64
	sentAny  bool
	// failing is set while writes to the peer fail (a closing peer fails
	// every write until the clock drops it): only the first is logged.
	failing bool
}

func (o *audioOut) init(mime string, clockRate int, reg *codec.Registry, params codec.EncoderParams) error {
	c, err := reg.Audio(mime)
	if err != nil {
		return err
	}
	if o.enc, err = c.NewEncoder(params); err != nil {
		return fmt.Errorf("encoder for %s: %w", mime, err)
	}
	if clockRate <= 0 {
		clockRate = c.ClockRate
	}
	o.tsPerTick = uint32(clockRate / int(time.Second/media.FrameDuration))
	o.codec, o.rate = mime, clockRate
	o.bps = params.BitrateBps
	o.sharedKey = sharedKeyFor(mime, clockRate, o.bps)
	// RFC 3550 wants a random initial timestamp.
	o.tsOffset = rand.Uint32()
	return nil
}

func (o *audioOut) close() {
	if o.enc != nil {
		_ = o.enc.Close()
	}
}

// encode encodes this listener's own mix into pkt, setting encoded to its
// size (-1 when it failed). Listeners' encodes may run at once
// (parallel.go).
func (pt *participant) encode(c *counters) {
	o := &pt.out
	size, err := o.enc.Encode(o.mix.Samples[:], o.pkt[:])
	c.encodes.Add(1)
	if err != nil {
		c.encodeErrs.Add(1)
		pt.log.Debug("encode failed", "err", err)
		size = -1
	}
	o.encoded = size
}

// send writes one encoded frame for tick n, which the room clock ran at
// (phase earlier than its start's phase), with this listener's timestamp;
// an empty one (DTX silence) is not sent: the timestamp of the next one
// tells the receiver how long the gap lasted. It reports whether a packet
// went out.
func (pt *participant) send(payload []byte, n int64, at time.Time, phase time.Duration) bool {
	if len(payload) == 0 {
		return false
	}
	o := &pt.out
	o.followPhase(n, phase)
	ts := o.tsOffset + uint32(n)*o.tsPerTick + uint32(o.tsPhase)
	err := pt.peer.WriteAudio(payload, ts, at)
	if err != nil && !o.failing {
		pt.log.Debug("write audio failed; later failures in a row are not logged", "err", err)
	}
	o.failing = err != nil
	o.lastSent, o.sentAny = n, true
	return true
}

// followPhase brings this listener's timestamps onto the room clock's
// phase across a gap in what it was sent. Within a stream timestamps step
// by exactly a frame per packet (a receiver drops a packet that overlaps
// the one before), so the clock's slow slide leaves them a little ahead of
// the ticks; after at least a frame not sent (DTX) they take the clock's
// phase again, keeping at least a frame past the last packet, and the
// sender reports' mapping of timestamps to tick times is 48 kHz again.
func (o *audioOut) followPhase(n int64, phase time.Duration) {
	want := -int64(math.Round(phase.Seconds() * float64(o.rate)))
	if want == o.tsPhase {
		return
	}
	if !o.sentAny {
		o.tsPhase = want
		return
	}
	gap := n - o.lastSent - 1 // frames not sent since the last packet
	if gap < 1 {
		return
	}
	o.tsPhase = max(want, o.tsPhase-gap*int64(o.tsPerTick))
}
