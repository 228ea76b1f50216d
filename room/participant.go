package room

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// maxPacketSamples bounds one decoded packet: 120 ms, the longest Opus
// packet, at 48 kHz.
const maxPacketSamples = 120 * media.SampleRate / 1000

// concealLimit is how many frames of underrun are concealed before the input
// counts as silent: PLC smooths over a late packet, but synthesising audio for
// a sender that has stopped wastes CPU and smears a tail into the mix.
const concealLimit = 5

// maxPullsPerTick bounds the packets one participant may consume per tick.
const maxPullsPerTick = 16

// maxSilentPayload bounds the silence packet a participant remembers.
// Encoders code steady silence as the same few bytes every frame (libopus:
// 3 bytes in CELT modes, a few dozen in SILK), so one short packet is
// compared per frame.
const maxSilentPayload = 64

// silentPeak is the largest sample a decoded frame may hold and still count
// as silence (-84 dBov): digital silence, or a codec's ±1 dither of it.
const silentPeak = 2

// Silent reports whether a decoded frame is silence in the sense the room
// uses to stop decoding a repeated packet: no sample beyond ±2 (-84 dBov).
// The codec floor of bench/harness applies the same rule.
func Silent(pcm []int16) bool {
	for _, s := range pcm {
		if s > silentPeak || s < -silentPeak {
			return false
		}
	}
	return true
}

// participant is one member of a room and its audio pipeline: pull packets,
// decode (or conceal) into a 20 ms frame for the mixer, then encode the
// listener's mix-minus and hand it to the peer. Only the room's clock
// goroutine touches the pipeline fields; the room lock guards membership.
type participant struct {
	id   media.ParticipantID
	name string
	peer Peer
	log  *slog.Logger

	// ingress
	dec       codec.AudioDecoder // nil: the participant sends no audio
	in        *mixer.Input
	carry     [maxPacketSamples + media.FrameSamples]int16
	carryLen  int
	started   bool // a packet has been decoded since the last silence
	underruns int  // consecutive frames without a packet
	// owed counts frames concealed while the buffer was empty. When the
	// buffer later reports those packets lost, their time was already
	// filled: concealing them again would add a frame of delay and a
	// discontinuity per loss, so they are skipped instead.
	owed    int
	lastDur int // samples in the last decoded packet, for PLC/FEC sizing
	// silent is the last payload that decoded to silence (silentLen bytes,
	// silentDur samples; silentLen 0: none). The same bytes again decode
	// to silence again, from a decoder that just decoded silence, so they
	// are not decoded: muted browsers and idle phones send exactly this,
	// 50 times a second, and in a big room most participants do.
	silent    [maxSilentPayload]byte
	silentLen int
	silentDur int
	// slack is how much earlier this tick could have pulled the last
	// packet it took, when timed (see media.EncodedAudio.Slack).
	slack time.Duration
	timed bool

	// video (nil when the participant sends or receives none); the
	// decoder is created at join and started once admitted.
	vdec           codec.VideoDecoder
	vin            *videoIn
	vout           *videoOut
	sendVideoCodec string
	lastSpoke      time.Time    // last tick it was talking, for choosing tiles beyond 16
	dtmf           DTMFPeer     // nil unless the peer receives telephone keys
	link           LinkPeer     // nil unless its transport reports on and probes its link
	reporter       LinkReporter // nil unless its transport reports on its link
	kind           string
	recvAudioCodec string
	recvVideoCodec string
	videoMuted     bool // under the room lock
	// rxBytes counts encoded media received (audio and video); the audio
	// clock turns it into bitrate once a second.
	rxBytes atomic.Uint64
	rxLast  uint64
	bitrate atomic.Uint64

	// egress
	sendCodec string             // MIME type it receives audio in
	sendRate  int                // and that codec's RTP clock rate
	sharedKey string             // names the shared mix encode it can use
	enc       codec.AudioEncoder // nil: the participant receives no audio
	out       media.AudioFrame
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
}

// audio holds the room's audio encoder settings.
func newParticipant(id media.ParticipantID, p JoinParams, reg *codec.Registry, audio codec.EncoderParams, log *slog.Logger) (*participant, error) {
	pt := &participant{id: id, name: p.Name, peer: p.Peer, log: log, lastDur: media.FrameSamples,
		kind: p.Kind, recvAudioCodec: p.RecvAudioCodec, recvVideoCodec: p.RecvVideoCodec}
	pt.dtmf, _ = p.Peer.(DTMFPeer)
	pt.link, _ = p.Peer.(LinkPeer)
	pt.reporter, _ = p.Peer.(LinkReporter)
	if p.RecvAudioCodec != "" {
		c, err := reg.Audio(p.RecvAudioCodec)
		if err != nil {
			return nil, err
		}
		if pt.dec, err = c.NewDecoder(); err != nil {
			return nil, fmt.Errorf("decoder for %s: %w", p.RecvAudioCodec, err)
		}
	}
	if p.SendAudioCodec != "" {
		c, err := reg.Audio(p.SendAudioCodec)
		if err != nil {
			pt.close()
			return nil, err
		}
		if pt.enc, err = c.NewEncoder(audio); err != nil {
			pt.close()
			return nil, fmt.Errorf("encoder for %s: %w", p.SendAudioCodec, err)
		}
		rate := p.SendAudioClockRate
		if rate <= 0 {
			rate = c.ClockRate
		}
		pt.tsPerTick = uint32(rate / int(time.Second/media.FrameDuration))
		pt.sendCodec, pt.sendRate = p.SendAudioCodec, rate
		pt.sharedKey = fmt.Sprintf("%s/%d", p.SendAudioCodec, rate)
		// RFC 3550 wants a random initial timestamp.
		pt.tsOffset = rand.Uint32()
	}
	if p.RecvVideoCodec != "" || p.SendVideoCodec != "" {
		vp, ok := p.Peer.(VideoPeer)
		if !ok {
			pt.close()
			return nil, fmt.Errorf("%w: video negotiated but the peer carries none", ErrBadOptions)
		}
		if p.RecvVideoCodec != "" {
			c, err := reg.Video(p.RecvVideoCodec)
			if err == nil {
				pt.vdec, err = c.NewDecoder()
			}
			if err != nil {
				pt.close()
				return nil, fmt.Errorf("video decoder for %s: %w", p.RecvVideoCodec, err)
			}
		}
		if p.SendVideoCodec != "" {
			if _, err := reg.Video(p.SendVideoCodec); err != nil {
				pt.close()
				return nil, err
			}
			pt.sendVideoCodec = p.SendVideoCodec
			pt.vout = &videoOut{peer: vp, tsOffset: rand.Uint32()}
			pt.vout.link = pt.link
		}
	}
	return pt, nil
}

// start begins the participant's background work once it is admitted:
// decoding its video.
func (p *participant) start(clock media.Clock, c *counters) {
	if p.vdec != nil {
		p.vin = startVideoIn(p.peer.(VideoPeer), p.vdec, clock, c, &p.rxBytes, p.log)
		p.vdec = nil // owned by the decode goroutine now
	}
}

// finish closes the peer and waits for the participant's goroutines. It is
// called outside every lock: closing a peer can call back into the room.
func (p *participant) finish() error {
	err := p.peer.Close()
	if p.vin != nil {
		<-p.vin.done // the peer closed its frame channel, so decoding ends
	}
	return err
}

// pull fills the mixer input's frame for this tick from the peer's packets,
// decoding, recovering with FEC or concealing as needed.
func (p *participant) pull(now time.Time, c *counters, m Metrics) {
	if p.dec == nil {
		p.in.SetPresent(false)
		return
	}
	p.timed = false
	// Bounded so that a peer handing out nothing but losses before its
	// first packet cannot hold the clock goroutine.
	for pulls := 0; p.carryLen < media.FrameSamples; pulls++ {
		if pulls == maxPullsPerTick {
			p.in.SetPresent(false)
			return
		}
		pk := p.peer.ReadAudio(now)
		switch pk.Status {
		case media.PacketOK:
			p.rxBytes.Add(uint64(len(pk.Payload)))
			m.ObservePlayout(pk.Waited)
			p.slack, p.timed = pk.Slack, pk.Timed // the last packet pulled is due last
			var n int
			if p.silentLen > 0 && bytes.Equal(pk.Payload, p.silent[:p.silentLen]) {
				n = p.silentDur
				clear(p.carry[p.carryLen : p.carryLen+n])
				c.silentFrames.Add(1)
			} else {
				var err error
				if n, err = p.dec.Decode(pk.Payload, p.carry[p.carryLen:]); err != nil {
					c.decodeErrs.Add(1)
					p.log.Debug("decode failed", "err", err)
					p.concealInto(nil, c)
					continue
				}
				p.noteSilence(pk.Payload, p.carry[p.carryLen:p.carryLen+n])
			}
			p.carryLen += n
			if n > 0 {
				p.lastDur = n
			}
			p.started = true
			p.underruns, p.owed = 0, 0
		case media.PacketLost:
			if !p.started {
				continue
			}
			if p.owed > 0 {
				p.owed--
				continue
			}
			p.concealInto(pk.Next, c)
		default: // empty: nothing buffered
			if !p.started || p.underruns >= concealLimit {
				p.started, p.owed = false, 0
				p.in.SetPresent(false)
				return
			}
			p.underruns++
			p.owed++
			p.concealInto(nil, c)
		}
	}
	p.in.SetPresent(true)
	copy(p.in.Frame().Samples[:], p.carry[:media.FrameSamples])
	p.carryLen = copy(p.carry[:], p.carry[media.FrameSamples:p.carryLen])
}

// noteSilence remembers payload when it decoded to silence (pcm), and
// forgets the remembered one otherwise.
func (p *participant) noteSilence(payload []byte, pcm []int16) {
	p.silentLen = 0
	if len(pcm) == 0 || len(payload) > maxSilentPayload || !Silent(pcm) {
		return
	}
	p.silentLen, p.silentDur = copy(p.silent[:], payload), len(pcm)
}

// concealInto appends one lost packet's worth of audio to the carry buffer,
// from the next packet's FEC when there is one, else from PLC.
func (p *participant) concealInto(next []byte, c *counters) {
	dst := p.carry[p.carryLen : p.carryLen+min(p.lastDur, len(p.carry)-p.carryLen)]
	var err error
	fec, hasFEC := p.dec.(codec.FECDecoder)
	plc, hasPLC := p.dec.(codec.Concealer)
	switch {
	case next != nil && hasFEC && fec.HasFEC(next):
		if err = fec.DecodeFEC(next, dst); err == nil {
			c.fec.Add(1)
		}
	case hasPLC:
		if err = plc.Conceal(dst); err == nil {
			c.concealed.Add(1)
		}
	default:
		clear(dst)
		c.concealed.Add(1)
	}
	if err != nil {
		clear(dst)
		c.decodeErrs.Add(1)
	}
	p.carryLen += len(dst)
}

// encode encodes this listener's own mix (p.out) into p.pkt, setting
// p.encoded to its size (-1 when it failed). Participants' encodes may run
// at once (fanout.go).
func (p *participant) encode(c *counters) {
	size, err := p.enc.Encode(p.out.Samples[:], p.pkt[:])
	c.encodes.Add(1)
	if err != nil {
		c.encodeErrs.Add(1)
		p.log.Debug("encode failed", "err", err)
		size = -1
	}
	p.encoded = size
}

// send writes one encoded frame for tick n, which the room clock ran at
// (phase earlier than its start's phase), with this listener's timestamp;
// an empty one (DTX silence) is not sent: the timestamp of the next one
// tells the receiver how long the gap lasted. It reports whether a packet
// went out.
func (p *participant) send(payload []byte, n int64, at time.Time, phase time.Duration) bool {
	if len(payload) == 0 {
		return false
	}
	p.followPhase(n, phase)
	ts := p.tsOffset + uint32(n)*p.tsPerTick + uint32(p.tsPhase)
	if err := p.peer.WriteAudio(payload, ts, at); err != nil && !errors.Is(err, ErrClosed) {
		p.log.Debug("write audio failed", "err", err)
	}
	p.lastSent, p.sentAny = n, true
	return true
}

// followPhase brings this listener's timestamps onto the room clock's
// phase across a gap in what it was sent. Within a stream timestamps step
// by exactly a frame per packet (a receiver drops a packet that overlaps
// the one before), so the clock's slow slide leaves them a little ahead of
// the ticks; after at least a frame not sent (DTX) they take the clock's
// phase again, keeping at least a frame past the last packet, and the
// sender reports' mapping of timestamps to tick times is 48 kHz again.
func (p *participant) followPhase(n int64, phase time.Duration) {
	want := -int64(math.Round(phase.Seconds() * float64(p.sendRate)))
	if want == p.tsPhase {
		return
	}
	if !p.sentAny {
		p.tsPhase = want
		return
	}
	gap := n - p.lastSent - 1 // frames not sent since the last packet
	if gap < 1 {
		return
	}
	p.tsPhase = max(want, p.tsPhase-gap*int64(p.tsPerTick))
}

// close frees the audio codecs and an unstarted video decoder. The peer
// is closed by finish, outside locks.
func (p *participant) close() {
	if p.dec != nil {
		_ = p.dec.Close()
	}
	if p.enc != nil {
		_ = p.enc.Close()
	}
	if p.vdec != nil {
		_ = p.vdec.Close()
	}
}
