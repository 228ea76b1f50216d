package aac

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
)

// The codec conformance suite's audio cases (codectest.RunAudio), as AAC
// takes them: its frames are 1024 samples, not the room's 960, so the
// tone goes in by 20 ms and comes out by AAC frame.

// newPair opens an encoder and a decoder of its frames, closed when the
// test ends.
func newPair(t *testing.T, bitrate int) (*Encoder, *Decoder) {
	t.Helper()
	enc, err := NewEncoder(48000, 1, bitrate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = enc.Close() })
	dec, err := NewDecoder(enc.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dec.Close() })
	return enc, dec
}

func TestRoundTripTone(t *testing.T) {
	enc, dec := newPair(t, 128000)
	in := make([]int16, 960)
	out := make([]int16, 2048)
	var got []int16
	var pts []int64
	for f := range 100 {
		codectest.Tone(in, 1000, 10000, f*len(in))
		err := enc.Encode(in, func(au []byte, at int64) {
			pts = append(pts, at)
			n, err := dec.Decode(au, out)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out[:n]...)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want := 100*960/enc.FrameSamples() - 1; len(pts) < want {
		t.Fatalf("%d frames out of 2 s, want at least %d", len(pts), want)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i]-pts[i-1] != int64(enc.FrameSamples()) {
			t.Fatalf("frame times %v: not a frame apart", pts)
		}
	}
	if pts[0] > 0 {
		t.Errorf("first frame at %d samples, want the priming (≤ 0)", pts[0])
	}
	amp := codectest.Goertzel(got[10*1024:], 1000)
	if db := 20 * math.Log10(amp/10000); math.Abs(db) > 1 {
		t.Fatalf("1 kHz tone came back at %.2f dB", db)
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	enc, dec := newPair(t, 64000)
	for range 2 {
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if err := dec.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Encode(make([]int16, 960), func([]byte, int64) {}); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("encode after close: %v", err)
	}
	if _, err := dec.Decode([]byte{1, 2, 3}, make([]int16, 1024)); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("decode after close: %v", err)
	}
}

func TestGarbageInput(t *testing.T) {
	_, dec := newPair(t, 64000)
	out := make([]int16, 2048)
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, 1+r.IntN(400))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if n, err := dec.Decode(b, out); err != nil && !errors.Is(err, codec.ErrBadInput) || n > len(out) {
			t.Fatalf("garbage: %d, %v", n, err)
		}
	}
	for _, bad := range [][]int{{0, 1, 64000}, {48000, 3, 64000}, {48000, 1, 0}} {
		if _, err := NewEncoder(bad[0], bad[1], bad[2]); !errors.Is(err, codec.ErrBadInput) {
			t.Errorf("NewEncoder%v: %v", bad, err)
		}
	}
	if _, err := NewDecoder(nil); !errors.Is(err, codec.ErrBadInput) {
		t.Errorf("NewDecoder(nil): %v", err)
	}
}
