// Package opusloop pre-encodes the Opus streams the plain-RTP load
// generators send (bench/janusref for Janus AudioBridge, bench/load's
// RunRTP for the mcu), so both feed their server the same bytes and spend
// no CPU encoding while they measure: a steady tone per talker, coded
// digital silence for listeners, 20 ms mono frames at 48 kHz, payload type
// 111, 64 kb/s (what internal/testkit/pionclient sends).
package opusloop

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/mcu-project/mcu/codec"
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
