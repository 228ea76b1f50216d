package load

import (
	"fmt"
	"strings"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/media"
)

// legCodec is an audio codec a plain-RTP leg can send: its name in the
// mcu's leg API, its RTP numbering and how it codes a loop.
type legCodec struct {
	name string // as POST /rooms/{room}/rtp takes it
	pt   uint8
	step uint32 // RTP timestamp step per 20 ms packet
	// code codes opusloop.LoopFrames frames (gen fills frame f; a whole
	// loop's frames follow each other seamlessly) into a loop replayed
	// seamlessly.
	code func(gen func(pcm []int16, f int)) ([][]byte, error)
}

var (
	opusLeg = legCodec{name: "opus", pt: opusloop.PayloadType, step: opusloop.FrameLen,
		code: func(gen func([]int16, int)) ([][]byte, error) { return opusloop.Encode(opusloop.LoopFrames, 50, gen) }}
	// pcmuLeg is what a phone behind a SIP gateway sends: G.711 µ-law,
	// payload type 0, 8 kHz.
	pcmuLeg = legCodec{name: "PCMU", pt: 0, step: uint32(g711.FrameBytes), code: pcmuLoop}
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

// pcmuLoop codes a loop in µ-law through the mcu's own G.711 encoder.
func pcmuLoop(gen func(pcm []int16, f int)) ([][]byte, error) {
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
		gen(pcm, f)
		buf := make([]byte, g711.FrameBytes)
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			return nil, err
		}
		out[f%opusloop.LoopFrames] = buf[:n]
	}
	return out, nil
}

// Sound is what a participant's loop carries.
type Sound int

const (
	// Silence is coded digital silence: a listener's microphone.
	Silence Sound = iota
	// Voice is a talker's voice (opusloop.Voice): what the CPU rows send.
	Voice
	// Tone is a talker's steady tone: what the latency rows send, whose
	// onset detector needs the mix clear of everything but tones.
	Tone
)

// loops encodes each participant's loop (codec, sound, talker i) once per
// run: listeners with the same codec share theirs.
type loops map[string][][]byte

func (c loops) get(lc legCodec, sound Sound, i int, amp float64) ([][]byte, error) {
	hz := opusloop.ToneHz(i)
	key := fmt.Sprintf("%s/%d/%d/%g", lc.name, sound, i, amp)
	if l, ok := c[key]; ok {
		return l, nil
	}
	var gen func(pcm []int16, f int)
	switch sound {
	case Silence:
		gen = func(pcm []int16, _ int) { clear(pcm) }
	case Tone:
		gen = func(pcm []int16, f int) { opusloop.Sine(pcm, hz, amp, f) }
	default:
		gen = opusloop.VoiceFrames(hz, amp)
	}
	l, err := lc.code(gen)
	if err != nil {
		return nil, fmt.Errorf("encode %s loop: %w", lc.name, err)
	}
	if sound == Voice {
		l = opusloop.Staggered(l, i)
	}
	c[key] = l
	return l, nil
}

// LegLoop is the loop participant i with codec name ("opus" or "PCMU")
// sends: its voice (staggered), tone or silence. The harness's codec floor
// decodes the same bytes.
func LegLoop(name string, sound Sound, i int, amp float64) ([][]byte, error) {
	cs, err := legCodecs([]string{name})
	if err != nil {
		return nil, err
	}
	return loops{}.get(cs[0], sound, i, amp)
}
