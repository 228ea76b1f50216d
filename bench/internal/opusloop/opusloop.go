// Package opusloop pre-encodes the Opus streams the load generators send
// (bench/janusref for Janus AudioBridge, bench/load for the mcu), so both
// feed their server the same bytes and spend no CPU encoding while they
// measure: a voice per talker (a steady tone where latency is measured),
// coded digital silence for listeners, 20 ms mono frames at 48 kHz,
// payload type 111, 64 kb/s (what internal/testkit/pionclient sends).
package opusloop

import (
	"encoding/binary"
	"math"
	"slices"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
)

const (
	SampleRate  = 48000
	FrameLen    = 960 // samples per 20 ms frame
	FramePeriod = 20 * time.Millisecond
	PayloadType = 111
	Bitrate     = 64000
	// LoopFrames is the length of Tone and Silence loops: 2 s. Every steady
	// tone here is a whole number of Hz, so it repeats exactly every
	// second and the loop replays seamlessly.
	LoopFrames = 100
	// HeaderLen is the size of the RTP header Stream writes.
	HeaderLen = 12
)

// ToneHz is talker i's steady tone, as bench/load hands them out.
func ToneHz(i int) float64 { return 200 + 37*float64(i) }

// ToneAmp is each tone's peak with this many talkers: min(8192, 32000 /
// talkers), so the sum never exceeds full scale (Janus AudioBridge wraps
// around instead of clipping).
func ToneAmp(talkers int) float64 {
	return math.Floor(min(8192, 32000/float64(max(talkers, 1))))
}

// Encode pre-encodes frames of pcm (gen fills frame f) with a fresh
// encoder, after warm frames of warm-up that are thrown away, so the
// stored loop has no encoder start-up in it.
func Encode(frames, warm int, gen func(pcm []int16, f int)) ([][]byte, error) {
	enc, err := opus.NewEncoder(codec.EncoderParams{BitrateBps: Bitrate})
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	pcm := make([]int16, FrameLen)
	buf := make([]byte, 1500)
	out := make([][]byte, 0, frames)
	for f := 0; f < warm+frames; f++ {
		gen(pcm, f)
		n, err := enc.Encode(pcm, buf)
		if err != nil {
			return nil, err
		}
		if f >= warm {
			out = append(out, append([]byte(nil), buf[:n]...))
		}
	}
	return out, nil
}

// Sine fills pcm with frame f of a tone (phase-continuous across frames).
func Sine(pcm []int16, hz, amp float64, f int) {
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(f*FrameLen+i)/SampleRate))
	}
}

// Tone is LoopFrames of Opus for a steady tone of a whole number of Hz.
func Tone(hz, amp float64) ([][]byte, error) {
	return Encode(LoopFrames, 50, func(pcm []int16, f int) { Sine(pcm, hz, amp, f) })
}

// Voice is LoopFrames of Opus for a talker whose voice has its
// fundamental at hz (a whole number of Hz) and peaks at amp.
func Voice(hz, amp float64) ([][]byte, error) {
	return Encode(LoopFrames, 50, VoiceFrames(hz, amp))
}

// VoiceFrames fills pcm (one frame) with frame f of the voice Voice codes,
// for loops in other codecs (bench/load's PCMU legs).
func VoiceFrames(hz, amp float64) func(pcm []int16, f int) {
	voice := VoicePCM(hz, amp)
	return func(pcm []int16, f int) { copy(pcm, voice[f%LoopFrames*FrameLen:]) }
}

// The voice's make-up. A steady tone is no benchmark for a conference
// server: libopus's encoder picks between its hybrid mode (speech, about
// four times the CPU per frame) and CELT from what the signal sounds like,
// and on tones and their mixes its pick was a toss-up that hysteresis then
// held: in one harness run the mcu's and Janus's listeners got 80 % and
// 13 % hybrid frames in the same scenario (docs/bench/report.md), so their
// CPU compared the toss, not the servers. Mixes of these voices, staggered
// (Staggered), are coded in one mode for a given number of voices, as
// TestStaggeredVoices checks; each voice keeps a tone at the talker's own
// frequency for telling talkers apart in a mix.
const (
	// vibratoHz and vibratoDev move the pitch as speech's intonation
	// does; without it libopus takes even a voiced signal for music, and
	// at ±6 Hz it still coded one voice alone CELT-only or hybrid by the
	// toss. A deviation in Hz (not a fraction of the pitch) keeps every
	// talker's spectrum the same shape around its own tone: sidebands
	// every vibratoHz, nothing to speak of beyond ±3·vibratoHz, clear of
	// the next talker's tone 37 Hz away.
	vibratoHz  = 8
	vibratoDev = 12
	// syllableHz is the syllable rate: each syllable swells and fades
	// and has its own vowel.
	syllableHz = 4
	// voiceTopHz bounds the harmonics, as telephone-band speech.
	voiceTopHz = 4000
	// formantGain weighs the resonators' output against the talker's own
	// tone: at 3 or less, the voice is more tone than voice, and mixes of
	// 8 voices in step were coded in either mode by the toss.
	formantGain = 8
)

// vowels are the first three formants (Hz) of five vowels, one per
// syllable in turn.
var vowels = [][3]float64{{730, 1090, 2440}, {270, 2290, 3010}, {300, 870, 2240}, {530, 1840, 2480}, {660, 1720, 2410}}

// Staggered is talker i's loop started some frames in, a different number
// for each of the first LoopFrames talkers: people do not talk in step.
// Voices in step pause together between syllables; out of step, seven or
// more overlap into a babble that libopus codes as music (CELT-only,
// TestStaggeredVoices). The load replays loops in step with the wall clock
// (internal/testkit/pionclient's replayStep; its plain-RTP legs from one
// clock), so the rotation alone sets talkers apart, run after run. A loop
// is seamless, so any rotation of it is too.
func Staggered(loop [][]byte, i int) [][]byte {
	k := i * staggerStep % len(loop)
	return slices.Concat(loop[k:], loop[:k])
}

// staggerStep frames between talkers' starts: prime to LoopFrames, so the
// first LoopFrames talkers all start apart, and 740 ms, so neighbours are
// out of step by most of a syllable (250 ms) and by over half the vowel
// cycle (1.25 s).
const staggerStep = 37

// VoiceToneLevel is the amplitude of the talker's own tone (hz) in its
// voice at peak amp, over a whole loop (codectest.Goertzel's measure):
// what a mix carrying that talker shows at hz, give or take the others.
func VoiceToneLevel(hz, amp float64) float64 {
	return codectest.Goertzel(VoicePCM(hz, amp), hz)
}

// VoicePCM is Voice's signal before coding: LoopFrames·FrameLen samples, periodic (every period divides the loop),
// its peak at amp: a glottal source (harmonics of the vibrato pitch
// falling off at 12 dB per octave) through the three formant resonators
// of the syllable's vowel, plus the talker's own tone, under a syllable
// envelope.
func VoicePCM(hz, amp float64) []int16 {
	n := LoopFrames * FrameLen
	sig := make([]float64, n)
	var y1, y2 [3]float64
	peak := 0.0
	// Two passes: the second starts with the resonators ringing as the
	// first ended, so the loop is seamless; it is the one kept.
	for pass := range 2 {
		for i := range n {
			t := float64(i) / SampleRate
			// The phase of hz + vibratoDev·sin(2π·vibratoHz·t).
			ph := 2*math.Pi*hz*t - vibratoDev/vibratoHz*math.Cos(2*math.Pi*vibratoHz*t)
			src := 0.0
			for k := 1; float64(k)*hz < voiceTopHz; k++ {
				src += math.Sin(float64(k)*ph) / float64(k*k)
			}
			syl := t * syllableHz
			v := 0.0
			for j, fc := range vowels[int(syl)%len(vowels)] {
				bw := 80 + 40*float64(j)
				r := math.Exp(-math.Pi * bw / SampleRate)
				y := src + 2*r*math.Cos(2*math.Pi*fc/SampleRate)*y1[j] - r*r*y2[j]
				y2[j], y1[j] = y1[j], y
				v += y * (1 - r) / float64(j+1)
			}
			v = (formantGain*v + math.Sin(ph)) * math.Sqrt(math.Sin(math.Pi*(syl-math.Floor(syl))))
			if pass == 1 {
				sig[i] = v
				peak = max(peak, math.Abs(v))
			}
		}
	}
	out := make([]int16, n)
	for i, v := range sig {
		out[i] = int16(math.Round(v / peak * amp))
	}
	return out
}

// Silence is LoopFrames of Opus-coded digital silence: real frames the
// server decodes like any others (not an absent stream).
func Silence() ([][]byte, error) {
	return Encode(LoopFrames, 50, func(pcm []int16, _ int) { clear(pcm) })
}

// Stream is one sender's RTP numbering: packet k carries Seq+k and
// TS+Step·k, with payload type PT. A zero Step is an Opus stream:
// PayloadType, FrameLen (and PT is not used); a G.711 stream, say, sets
// PT 0 and Step 160.
type Stream struct {
	SSRC uint32
	Seq  uint16
	TS   uint32
	PT   uint8
	Step uint32
}

// Packet writes packet k of the stream, carrying payload, into buf (at
// least HeaderLen+len(payload) bytes) and returns its length. Packet 0 has
// the marker bit (start of a talk spurt).
func (s Stream) Packet(buf []byte, k int, payload []byte) int {
	pt, step := s.PT, s.Step
	if step == 0 {
		pt, step = PayloadType, FrameLen
	}
	buf[0] = 0x80
	buf[1] = pt & 0x7f
	if k == 0 {
		buf[1] |= 0x80
	}
	binary.BigEndian.PutUint16(buf[2:], s.Seq+uint16(k))
	binary.BigEndian.PutUint32(buf[4:], s.TS+uint32(k)*step)
	binary.BigEndian.PutUint32(buf[8:], s.SSRC)
	return HeaderLen + copy(buf[HeaderLen:], payload)
}
