package load

import (
	"fmt"
	"strings"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/media"
)

// legCodec is an audio codec a plain-RTP leg can send: its name in the
// mcu's leg API, its RTP numbering and its pre-encoded loops.
type legCodec struct {
	name string // as POST /rooms/{room}/rtp takes it
	pt   uint8
	step uint32 // RTP timestamp step per 20 ms packet
	// tone and silence are opusloop.LoopFrames packets each, replayed
	// seamlessly.
	tone    func(hz, amp float64) ([][]byte, error)
	silence func() ([][]byte, error)
}

var (
	opusLeg = legCodec{name: "opus", pt: opusloop.PayloadType, step: opusloop.FrameLen, tone: opusloop.Tone, silence: opusloop.Silence}
	// pcmuLeg is what a phone behind a SIP gateway sends: G.711 µ-law,
	// payload type 0, 8 kHz.
	pcmuLeg = legCodec{name: "PCMU", pt: 0, step: uint32(g711.FrameBytes), tone: pcmuTone, silence: func() ([][]byte, error) { return pcmuTone(0, 0) }}
)

// legCodecs maps names ("opus", "PCMU", any case) to codecs; none is Opus.
func legCodecs(names []string) ([]legCodec, error) {
	if len(names) == 0 {
		return []legCodec{opusLeg}, nil
	}
	var out []legCodec
	for _, n := range names {
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "opus":
			out = append(out, opusLeg)
		case "pcmu":
			out = append(out, pcmuLeg)
		default:
			return nil, fmt.Errorf("plain-RTP legs send opus or PCMU, not %q", n)
		}
	}
	return out, nil
}

// stream is a fresh RTP numbering for c.
func (c legCodec) stream(ssrc uint32, seq uint16, ts uint32) opusloop.Stream {
	return opusloop.Stream{SSRC: ssrc, Seq: seq, TS: ts, PT: c.pt, Step: c.step}
}

// pcmuTone is LoopFrames of µ-law for a steady tone of a whole number of
// Hz (amp 0: silence), through the mcu's own G.711 encoder.
func pcmuTone(hz, amp float64) ([][]byte, error) {
	enc, err := g711.NewEncoder(g711.ULaw)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	pcm := make([]int16, media.FrameSamples)
	out := make([][]byte, opusloop.LoopFrames)
	// One loop ahead first, so the stored one starts with the
	// resampler's filter already full, as it ends.
	for f := range 2 * opusloop.LoopFrames {
		opusloop.Sine(pcm, hz, amp, f)
		buf := make([]byte, g711.FrameBytes)
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			return nil, err
		}
		out[f%opusloop.LoopFrames] = buf[:n]
	}
	return out, nil
}

// loops encodes each (codec, tone) loop once per run: legs with the same
// codec and role share it.
type loops map[string][][]byte

func (c loops) get(lc legCodec, hz, amp float64) ([][]byte, error) {
	key := fmt.Sprintf("%s/%g/%g", lc.name, hz, amp)
	if l, ok := c[key]; ok {
		return l, nil
	}
	var l [][]byte
	var err error
	if amp == 0 {
		l, err = lc.silence()
	} else {
		l, err = lc.tone(hz, amp)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s loop: %w", lc.name, err)
	}
	c[key] = l
	return l, nil
}

// LegLoop is the loop a plain-RTP leg with codec name ("opus" or "PCMU")
// sends: a steady tone, or coded silence for amp 0. The harness's codec
// floor decodes the same bytes.
func LegLoop(name string, hz, amp float64) ([][]byte, error) {
	cs, err := legCodecs([]string{name})
	if err != nil {
		return nil, err
	}
	return loops{}.get(cs[0], hz, amp)
}
