// Package codectest is the conformance suite every codec runs: a tone
// survives a round trip, Close is idempotent, use after Close fails cleanly,
// and garbage input returns an error instead of crashing (RunAudio,
// RunVideo). It is also the one home of what every video codec package's
// tests share: its stream of test frames (EncodeStream), its benchmarks
// (BenchEncode, BenchDecode) and its fuzz target (FuzzDecode). It imports
// only codec, media and the standard library.
package codectest

import (
	"errors"
	"math"
	"testing"

	"github.com/mcu-project/mcu/codec"
)

const rate = 48000

// Tone fills pcm with a sine of freq Hz and the given peak amplitude, starting
// at sample index start (so consecutive frames join without a click).
func Tone(pcm []int16, freq float64, amp float64, start int) {
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(start+i)/rate))
	}
}

// Speech fills pcm with a voiced-speech-like signal from sample index
// start: a 120–180 Hz pitch gliding at 0.7 Hz with eight harmonics, its
// level swinging at 3 Hz. Encoders treat it as speech where a steady pure
// tone reads as music: libopus then keeps SILK, which alone carries
// in-band FEC.
func Speech(pcm []int16, start int) {
	for i := range pcm {
		t := float64(start+i) / rate
		pitch := 150 + 30*math.Sin(2*math.Pi*0.7*t)
		env := 0.6 + 0.4*math.Sin(2*math.Pi*3*t)
		var v float64
		for h := 1; h <= 8; h++ {
			v += math.Sin(2*math.Pi*pitch*float64(h)*t) / float64(h)
		}
		pcm[i] = int16(4000 * env * v)
	}
}

// Goertzel returns the amplitude of freq Hz in pcm (a full-scale sine of
// amplitude A reads A).
func Goertzel(pcm []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / rate
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + c*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(len(pcm))
}

// RunAudio runs the conformance suite against c.
func RunAudio(t *testing.T, c codec.AudioCodec) {
	t.Helper()
	const frame = 960
	t.Run("RoundTripTone", func(t *testing.T) {
		enc, err := c.NewEncoder(codec.EncoderParams{})
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		dec, err := c.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		in := make([]int16, frame)
		out := make([]int16, 6*frame)
		pkt := make([]byte, 4000)
		var got []int16
		for f := 0; f < 50; f++ {
			Tone(in, 1000, 10000, f*frame)
			n, err := enc.Encode(in, pkt)
			if err != nil {
				t.Fatal(err)
			}
			m, err := dec.Decode(pkt[:n], out)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out[:m]...)
		}
		if len(got) != 50*frame {
			t.Fatalf("decoded %d samples, want %d", len(got), 50*frame)
		}
		// Skip the codec's start-up; the tone must come back within 1 dB.
		amp := Goertzel(got[10*frame:], 1000)
		if db := 20 * math.Log10(amp/10000); math.Abs(db) > 1 {
			t.Fatalf("1 kHz tone came back at %.2f dB", db)
		}
	})
	t.Run("CloseTwiceAndUseAfterClose", func(t *testing.T) {
		enc, err := c.NewEncoder(codec.EncoderParams{})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := c.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			if err := dec.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := enc.Encode(make([]int16, frame), make([]byte, 1500)); !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("encode after close: %v", err)
		}
		if _, err := dec.Decode([]byte{1, 2, 3}, make([]int16, frame)); !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("decode after close: %v", err)
		}
	})
	t.Run("GarbageInput", func(t *testing.T) {
		dec, err := c.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		out := make([]int16, 6*frame)
		for _, p := range [][]byte{nil, {}, {0xff}, {0xff, 0xff, 0xff, 0xff}, make([]byte, 3000)} {
			// Some garbage is a valid packet for some codecs; what matters
			// is no crash and a sane sample count.
			n, err := dec.Decode(p, out)
			if err == nil && (n < 0 || n > len(out)) {
				t.Fatalf("decode %x: %d samples", p, n)
			}
		}
		if _, err := dec.Decode(nil, out); err == nil {
			t.Fatal("empty payload decoded without error")
		}
		enc, err := c.NewEncoder(codec.EncoderParams{})
		if err != nil {
			t.Fatal(err)
		}
		defer enc.Close()
		if _, err := enc.Encode(make([]int16, 17), make([]byte, 1500)); !errors.Is(err, codec.ErrBadInput) {
			t.Fatalf("short frame: %v", err)
		}
	})
}
