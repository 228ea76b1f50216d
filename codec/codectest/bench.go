package codectest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// benchSizes are the picture sizes every video codec is benchmarked at,
// one sub-benchmark each (BenchmarkEncode/640x360, ...).
func benchSizes() [][2]int { return [][2]int{{640, 360}, {1280, 720}} }

// BenchEncode is a codec package's BenchmarkEncode: c's encoder on the
// moving test picture at each benchmark size, reporting ns/frame and the
// bitrate it makes at 30 fps (kb/s@30).
func BenchEncode(b *testing.B, c codec.VideoCodec) {
	for _, s := range benchSizes() {
		w, h := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			enc, err := c.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			// Pre-draw a second of the moving picture so only the
			// encoder is timed.
			pics := make([]*media.VideoFrame, 30)
			for i := range pics {
				pics[i] = SolidFrame(w, h, 0, 0, 0)
				MovingFrame(pics[i], i)
			}
			buf := make([]byte, 0, 1<<20)
			var total int
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				// Play the second forwards then backwards so the
				// motion never jumps.
				j := i % 58
				if j >= 30 {
					j = 58 - j
				}
				out, _, err := enc.Encode(pics[j], buf)
				if err != nil {
					b.Fatal(err)
				}
				total += len(out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
			b.ReportMetric(float64(total)*8*30/float64(b.N)/1000, "kb/s@30")
		})
	}
}

// BenchDecode is a codec package's BenchmarkDecode: c's decoder on two
// seconds of the moving test picture at each benchmark size, reporting
// ns/frame.
func BenchDecode(b *testing.B, c codec.VideoCodec) {
	for _, s := range benchSizes() {
		w, h := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			// One keyframe, then interframes; looping restarts at the
			// keyframe.
			frames := EncodeStream(b, c, w, h, 60)
			dec, err := c.NewDecoder()
			if err != nil {
				b.Fatal(err)
			}
			defer dec.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := dec.Decode(frames[i%len(frames)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}

// FuzzSeed is one seed of FuzzDecode's corpus: a frame, given to a fresh
// decoder or to one that has just decoded a good keyframe.
type FuzzSeed struct {
	Data     []byte
	AfterKey bool
}

// FuzzDecode is a codec package's FuzzDecode: any input, to a fresh decoder
// of c or after a good keyframe, fails with ErrBadInput or ErrNeedKeyFrame
// or gives a whole picture within the decode limits, and a good keyframe
// then always recovers the decoder. The corpus is seeded with frames of a
// small stream of the moving picture (whole and cut) and with seeds, the
// codec's own tricky inputs.
func FuzzDecode(f *testing.F, c codec.VideoCodec, seeds ...FuzzSeed) {
	frames := EncodeStream(f, c, 64, 48, 3)
	key, inter := frames[0], frames[1]
	f.Add(key, false)
	f.Add(inter, true)
	f.Add(frames[2], true)
	f.Add(key[:len(key)/2], false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, false)
	for _, s := range seeds {
		f.Add(s.Data, s.AfterKey)
	}
	f.Fuzz(func(t *testing.T, data []byte, afterKey bool) {
		dec := NewDecoder(t, c)
		if afterKey {
			if _, err := dec.Decode(key); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // twice: the second sees whatever state the first left
			pic, err := dec.Decode(data)
			if err != nil {
				if !errors.Is(err, codec.ErrBadInput) && !errors.Is(err, codec.ErrNeedKeyFrame) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			if pic != nil {
				if pic.Width <= 0 || pic.Height <= 0 || pic.Width > codec.MaxDecodeWidth || pic.Height > codec.MaxDecodeHeight {
					t.Fatalf("picture %dx%d", pic.Width, pic.Height)
				}
				_ = pic.Y[len(pic.Y)-1] + pic.U[len(pic.U)-1] + pic.V[len(pic.V)-1]
				_, _, _ = pic.At(pic.Width-1, pic.Height-1)
			}
		}
		// A good keyframe always recovers the decoder.
		if pic, err := dec.Decode(key); err != nil || pic == nil {
			t.Fatalf("keyframe after fuzz input: %v, %v", pic != nil, err)
		}
		if pic, err := dec.Decode(inter); err != nil || pic == nil {
			t.Fatalf("interframe after recovery: %v, %v", pic != nil, err)
		}
	})
}
