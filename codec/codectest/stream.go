package codectest

import (
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// RegisteredVideo registers a codec package's codecs in a fresh registry
// with register and returns the one of mimeType, for that package's tests:
//
//	var vp8 = codectest.RegisteredVideo(vpx.Register, "VIDEO/vp8")
//
// It panics if either fails: the codec package or its test is broken.
func RegisteredVideo(register func(*codec.Registry) error, mimeType string) codec.VideoCodec {
	var r codec.Registry
	if err := register(&r); err != nil {
		panic(err)
	}
	c, err := r.Video(mimeType)
	if err != nil {
		panic(err)
	}
	return c
}

// EncodeStream encodes n frames of the moving test picture (MovingFrame)
// at w×h with a new encoder of c and returns copies of the encoded frames;
// the first is a keyframe.
func EncodeStream(tb testing.TB, c codec.VideoCodec, w, h, n int) [][]byte {
	tb.Helper()
	enc, err := c.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	f := SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	var out [][]byte
	for i := range n {
		MovingFrame(f, i)
		b, key, err := enc.Encode(f, buf)
		if err != nil {
			tb.Fatal(err)
		}
		if i == 0 && !key {
			tb.Fatal("first frame is not a keyframe")
		}
		out = append(out, append([]byte(nil), b...))
	}
	return out
}

// ResolutionChange decodes streams of each of sizes (w×h) in turn with one
// decoder of c: every frame must give a whole picture of the size coded
// returns for w×h (nil: w×h itself, for codecs that code any size).
func ResolutionChange(t *testing.T, c codec.VideoCodec, sizes [][2]int, coded func(w, h int) (int, int)) {
	t.Helper()
	dec := NewDecoder(t, c)
	for _, s := range sizes {
		w, h := s[0], s[1]
		if coded != nil {
			w, h = coded(w, h)
		}
		for i, fr := range EncodeStream(t, c, s[0], s[1], 10) {
			pic, err := dec.Decode(fr)
			if err != nil {
				t.Fatalf("%dx%d frame %d: %v", w, h, i, err)
			}
			if pic == nil {
				t.Fatalf("%dx%d frame %d: no picture", w, h, i)
			}
			if pic.Width != w || pic.Height != h {
				t.Fatalf("%dx%d frame %d: decoded %dx%d", w, h, i, pic.Width, pic.Height)
			}
			// The last row and column are inside the views.
			_, _, _ = pic.At(w-1, h-1)
		}
	}
}

// NewEncoder returns an encoder of c with params p, closed when the test
// ends.
func NewEncoder(tb testing.TB, c codec.VideoCodec, p codec.VideoEncoderParams) codec.VideoEncoder {
	tb.Helper()
	enc, err := c.NewEncoder(p)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { enc.Close() })
	return enc
}

// NewDecoder returns a decoder of c, closed when the test ends.
func NewDecoder(tb testing.TB, c codec.VideoCodec) codec.VideoDecoder {
	tb.Helper()
	dec, err := c.NewDecoder()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { dec.Close() })
	return dec
}

// newEncodeDecode returns an encoder of c for w×h pictures at 30 fps and a
// decoder, both closed when the test ends, with a w×h frame to paint and
// an output buffer with room for any encoded frame.
func newEncodeDecode(tb testing.TB, c codec.VideoCodec, w, h int) (codec.VideoEncoder, codec.VideoDecoder, *media.VideoFrame, []byte) {
	tb.Helper()
	enc := NewEncoder(tb, c, codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	return enc, NewDecoder(tb, c), SolidFrame(w, h, 0, 0, 0), make([]byte, 0, 1<<20)
}
