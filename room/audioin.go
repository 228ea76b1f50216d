package room

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

const (
	// maxPacketSamples bounds one decoded packet: 120 ms, the longest Opus
	// packet, at 48 kHz.
	maxPacketSamples = 120 * media.SampleRate / 1000
	// concealLimit is how many frames of underrun are concealed before the
	// input counts as silent: PLC smooths over a late packet, but
	// synthesising audio for a sender that has stopped wastes CPU and
	// smears a tail into the mix.
	concealLimit = 5
	// maxPullsPerTick bounds the packets one participant may consume per tick.
	maxPullsPerTick = 16
	// maxSilentPayload bounds the silence packet a participant remembers.
	// Encoders code steady silence as the same few bytes every frame
	// (libopus: 3 bytes in CELT modes, a few dozen in SILK), so one short
	// packet is compared per frame.
	maxSilentPayload = 64
)

// audioIn is a participant's incoming audio: pull packets from the peer's
// playout buffer and decode (or conceal) them into a 20 ms frame for the
// mixer. Only the audio clock touches it.
type audioIn struct {
	dec       codec.AudioDecoder // nil: the participant sends no audio
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
}

func (a *audioIn) init(mime string, reg *codec.Registry) error {
	c, err := reg.Audio(mime)
	if err != nil {
		return err
	}
	if a.dec, err = c.NewDecoder(); err != nil {
		return fmt.Errorf("decoder for %s: %w", mime, err)
	}
	a.lastDur = media.FrameSamples
	return nil
}

func (a *audioIn) close() {
	if a.dec != nil {
		_ = a.dec.Close()
	}
}

// pull fills the mixer input's frame for this tick from the peer's packets,
// decoding, recovering with FEC or concealing as needed.
func (pt *participant) pull(now time.Time, c *counters, m Metrics) {
	a, in := &pt.ain, pt.in
	if a.dec == nil {
		in.SetPresent(false)
		return
	}
	a.timed = false
	// Bounded so that a peer handing out nothing but losses before its
	// first packet cannot hold the clock goroutine.
	for pulls := 0; a.carryLen < media.FrameSamples; pulls++ {
		if pulls == maxPullsPerTick {
			in.SetPresent(false)
			return
		}
		pk := pt.peer.ReadAudio(now)
		switch pk.Status {
		case media.PacketOK:
			pt.rxBytes.Add(uint64(len(pk.Payload)))
			m.ObservePlayout(pk.Waited)
			a.slack, a.timed = pk.Slack, pk.Timed // the last packet pulled is due last
			if !a.decode(pk.Payload, c, pt) {
				a.concealInto(nil, c)
			}
		case media.PacketLost:
			if !a.started {
				continue
			}
			if a.owed > 0 {
				a.owed--
				continue
			}
			a.concealInto(pk.Next, c)
		default: // empty: nothing buffered
			if !a.started || a.underruns >= concealLimit {
				a.started, a.owed = false, 0
				in.SetPresent(false)
				return
			}
			a.underruns++
			a.owed++
			a.concealInto(nil, c)
		}
	}
	in.SetPresent(true)
	copy(in.Frame().Samples[:], a.carry[:media.FrameSamples])
	a.carryLen = copy(a.carry[:], a.carry[media.FrameSamples:a.carryLen])
}

// decode appends one packet's audio to the carry buffer: silence without
// decoding when it repeats the last silent packet. It reports false when
// the packet did not decode.
func (a *audioIn) decode(payload []byte, c *counters, pt *participant) bool {
	var n int
	if a.silentLen > 0 && bytes.Equal(payload, a.silent[:a.silentLen]) {
		n = a.silentDur
		clear(a.carry[a.carryLen : a.carryLen+n])
		c.silentFrames.Add(1)
	} else {
		var err error
		if n, err = a.dec.Decode(payload, a.carry[a.carryLen:]); err != nil {
			c.decodeErrs.Add(1)
			pt.log.Debug("decode failed", "err", err)
			return false
		}
		a.noteSilence(payload, a.carry[a.carryLen:a.carryLen+n])
	}
	a.carryLen += n
	if n > 0 {
		a.lastDur = n
	}
	a.started = true
	a.underruns, a.owed = 0, 0
	return true
}

// noteSilence remembers payload when it decoded to silence (pcm), and
// forgets the remembered one otherwise.
func (a *audioIn) noteSilence(payload []byte, pcm []int16) {
	a.silentLen = 0
	if len(pcm) == 0 || len(payload) > maxSilentPayload || !media.Silent(pcm) {
		return
	}
	a.silentLen, a.silentDur = copy(a.silent[:], payload), len(pcm)
}

// concealInto appends one lost packet's worth of audio to the carry buffer,
// from the next packet's FEC when there is one, else from PLC.
func (a *audioIn) concealInto(next []byte, c *counters) {
	dst := a.carry[a.carryLen : a.carryLen+min(a.lastDur, len(a.carry)-a.carryLen)]
	var err error
	fec, hasFEC := a.dec.(codec.FECDecoder)
	plc, hasPLC := a.dec.(codec.Concealer)
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
	a.carryLen += len(dst)
}
