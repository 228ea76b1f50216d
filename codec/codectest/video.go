package codectest

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// SolidFrame returns a new w×h I420 frame painted one YUV colour.
func SolidFrame(w, h int, y, u, v byte) *media.VideoFrame {
	f, err := media.NewVideoFrame(w, h)
	if err != nil {
		panic(err) // a test helper given a bad size: a bug in the test
	}
	f.Fill(y, u, v)
	return f
}

// MovingFrame paints f with a synthetic moving picture for frame index n: a
// textured background panning diagonally and a bright box crossing it, so
// an encoder has real motion and detail to code. Consecutive n give
// consecutive pictures of the same scene.
func MovingFrame(f *media.VideoFrame, n int) {
	dx, dy := 3*n, 2*n
	for r := 0; r < f.Height; r++ {
		row := f.Y[r*f.StrideY : r*f.StrideY+f.Width]
		sy := r + dy
		for c := range row {
			sx := c + dx
			// A smooth gradient plus a fixed fine texture that moves
			// with the scene.
			t := texture(sx, sy)
			row[c] = byte(16 + (sx+sy)%160 + int(t)%48)
		}
	}
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	for r := 0; r < ch; r++ {
		ur := f.U[r*f.StrideU : r*f.StrideU+cw]
		vr := f.V[r*f.StrideV : r*f.StrideV+cw]
		for c := range ur {
			sx, sy := c+dx/2, r+dy/2
			ur[c] = byte(64 + (sx*2)%128)
			vr[c] = byte(64 + (sy*3+sx)%128)
		}
	}
	// A box a quarter of the height tall moving left to right.
	bs := max(f.Height/4, 2)
	bx := (n * 7) % max(f.Width-bs, 1)
	by := (f.Height - bs) / 2
	for r := by; r < by+bs && r < f.Height; r++ {
		for c := bx; c < bx+bs && c < f.Width; c++ {
			f.Y[r*f.StrideY+c] = 235
		}
	}
}

// texture is a cheap deterministic hash of a scene position.
func texture(x, y int) uint32 {
	h := uint32(x/8)*0x9E3779B1 ^ uint32(y/8)*0x85EBCA77
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 12
	return h
}

// colour is one YUV triple.
type colour struct{ y, u, v byte }

var testColours = []colour{
	{81, 90, 240},  // red
	{145, 54, 34},  // green
	{41, 240, 110}, // blue
	{128, 128, 128},
	{200, 100, 160},
}

// RunVideo runs the video conformance suite against c: round trips,
// keyframes on start and on request, bitrate control, Close, garbage and
// damaged input and the recovery from it, bad parameters, quality, zero
// allocations on the hot path and concurrent use while closing, one subtest
// each. A codec package's TestConformance calls it; with BenchEncode,
// BenchDecode and FuzzDecode (bench.go) its own tests keep only what is
// particular to its bitstream.
func RunVideo(t *testing.T, c codec.VideoCodec) {
	t.Helper()
	if c.ClockRate != media.VideoClockRate {
		t.Fatalf("%s: clock rate %d, want %d", c.MimeType, c.ClockRate, media.VideoClockRate)
	}
	newEnc := func(t *testing.T, w, h int) codec.VideoEncoder {
		t.Helper()
		return NewEncoder(t, c, codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	}
	newDec := func(t *testing.T) codec.VideoDecoder {
		t.Helper()
		return NewDecoder(t, c)
	}
	// encodeN encodes n frames produced by paint and returns copies of
	// the encoded frames and their keyframe flags.
	encodeN := func(t *testing.T, enc codec.VideoEncoder, f *media.VideoFrame, n int, paint func(i int)) ([][]byte, []bool) {
		t.Helper()
		var frames [][]byte
		var keys []bool
		buf := make([]byte, 0, 1<<20)
		for i := range n {
			if paint != nil {
				paint(i)
			}
			out, key, err := enc.Encode(f, buf)
			if err != nil {
				t.Fatalf("encode frame %d: %v", i, err)
			}
			frames = append(frames, append([]byte(nil), out...))
			keys = append(keys, key)
		}
		return frames, keys
	}

	t.Run("RoundTripSolidColours", func(t *testing.T) {
		for _, size := range [][2]int{{320, 240}, {640, 360}, {176, 144}} {
			w, h := size[0], size[1]
			enc, dec := newEnc(t, w, h), newDec(t)
			f := SolidFrame(w, h, 0, 0, 0)
			buf := make([]byte, 0, 1<<20)
			for _, col := range testColours {
				f.Fill(col.y, col.u, col.v)
				var got *media.VideoFrame
				for i := range 5 {
					out, _, err := enc.Encode(f, buf)
					if err != nil {
						t.Fatalf("%dx%d encode: %v", w, h, err)
					}
					if len(out) == 0 {
						continue
					}
					pic, err := dec.Decode(out)
					if err != nil {
						t.Fatalf("%dx%d colour %v frame %d: decode: %v", w, h, col, i, err)
					}
					if pic != nil {
						got = pic
					}
				}
				if got == nil {
					t.Fatalf("%dx%d colour %v: no picture decoded", w, h, col)
				}
				if got.Width != w || got.Height != h {
					t.Fatalf("decoded %dx%d, want %dx%d", got.Width, got.Height, w, h)
				}
				for _, p := range [][2]int{{w / 2, h / 2}, {w / 4, h / 4}, {3 * w / 4, 3 * h / 4}} {
					y, u, v := got.At(p[0], p[1])
					if absDiff(y, col.y) > 3 || absDiff(u, col.u) > 3 || absDiff(v, col.v) > 3 {
						t.Fatalf("%dx%d at %v: decoded YUV %d/%d/%d, want %v ±3", w, h, p, y, u, v, col)
					}
				}
			}
		}
	})

	t.Run("KeyFrameFirst", func(t *testing.T) {
		enc := newEnc(t, 320, 240)
		f := SolidFrame(320, 240, 0, 0, 0)
		_, keys := encodeN(t, enc, f, 5, func(i int) { MovingFrame(f, i) })
		if !keys[0] {
			t.Fatal("first encoded frame is not a keyframe")
		}
		for i, k := range keys[1:] {
			if k {
				t.Fatalf("frame %d is an unrequested keyframe", i+1)
			}
		}
	})

	t.Run("ForceKeyFrame", func(t *testing.T) {
		enc := newEnc(t, 320, 240)
		kc, ok := enc.(codec.KeyFrameController)
		if !ok {
			t.Skip("encoder has no KeyFrameController")
		}
		f := SolidFrame(320, 240, 0, 0, 0)
		n := 0
		paint := func(int) { MovingFrame(f, n); n++ }
		encodeN(t, enc, f, 5, paint)
		for range 3 {
			kc.ForceKeyFrame()
			_, keys := encodeN(t, enc, f, 3, paint)
			if !keys[0] {
				t.Fatal("frame after ForceKeyFrame is not a keyframe")
			}
			if keys[1] || keys[2] {
				t.Fatal("ForceKeyFrame made more than one keyframe")
			}
		}
	})

	t.Run("SetBitrate", func(t *testing.T) {
		enc := newEnc(t, 320, 240)
		bc, ok := enc.(codec.BitrateController)
		if !ok {
			t.Skip("encoder has no BitrateController")
		}
		f := SolidFrame(320, 240, 0, 0, 0)
		encodeN(t, enc, f, 3, func(i int) { MovingFrame(f, i) })
		if err := bc.SetBitrate(200_000); err != nil {
			t.Fatal(err)
		}
		encodeN(t, enc, f, 3, func(i int) { MovingFrame(f, 3+i) })
	})

	t.Run("CloseTwiceAndUseAfterClose", func(t *testing.T) {
		enc, err := c.NewEncoder(codec.VideoEncoderParams{Width: 160, Height: 120, FPS: 30})
		if err != nil {
			t.Fatal(err)
		}
		dec, err := c.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		f := SolidFrame(160, 120, 100, 110, 120)
		out, _, err := enc.Encode(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Decode(out); err != nil {
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
		if _, _, err := enc.Encode(f, nil); !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("encode after close: %v", err)
		}
		if _, err := dec.Decode(out); !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("decode after close: %v", err)
		}
		if kc, ok := enc.(codec.KeyFrameController); ok {
			kc.ForceKeyFrame() // must not crash
		}
		if bc, ok := enc.(codec.BitrateController); ok {
			if err := bc.SetBitrate(300_000); !errors.Is(err, codec.ErrClosed) {
				t.Fatalf("SetBitrate after close: %v", err)
			}
		}
	})

	t.Run("GarbageInput", func(t *testing.T) {
		enc := newEnc(t, 320, 240)
		f := SolidFrame(320, 240, 0, 0, 0)
		frames, keys := encodeN(t, enc, f, 3, func(i int) { MovingFrame(f, i) })
		if !keys[0] {
			t.Fatal("first encoded frame is not a keyframe")
		}
		key := frames[0]
		rng := rand.New(rand.NewPCG(1, 2))
		random := func(n int) []byte {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		}
		cases := map[string][]byte{
			"nil":               nil,
			"empty":             {},
			"zero":              {0},
			"ff":                {0xff, 0xff, 0xff, 0xff},
			"zeros":             make([]byte, 3000),
			"random16":          random(16),
			"random1000":        random(1000),
			"truncatedKeyFrame": key[:len(key)/2],
			"keyFrameHeader":    key[:min(len(key), 12)],
		}
		for name, p := range cases {
			// Each on a fresh decoder, so no earlier frame gives it a
			// reference.
			pic, err := newDec(t).Decode(p)
			if err == nil {
				t.Errorf("%s (%d bytes): decoded without error (picture %v)", name, len(p), pic != nil)
			}
		}
		// Garbage after a good keyframe may or may not decode, but must
		// not crash, and a returned picture must be whole.
		dec := newDec(t)
		for i := range 50 {
			if _, err := dec.Decode(key); err != nil {
				t.Fatalf("keyframe: %v", err)
			}
			p := random(1 + rng.IntN(2000))
			if i%2 == 0 {
				p[0] |= 1 // an interframe tag
			}
			pic, err := dec.Decode(p)
			if err == nil && pic != nil {
				checkPicture(t, pic)
			}
		}
	})

	t.Run("InterFrameNeedsKeyFrame", func(t *testing.T) {
		enc := newEnc(t, 320, 240)
		f := SolidFrame(320, 240, 0, 0, 0)
		frames, keys := encodeN(t, enc, f, 4, func(i int) { MovingFrame(f, i) })
		if keys[1] {
			t.Fatal("second frame is a keyframe")
		}
		dec := newDec(t)
		for _, fr := range frames[1:] {
			if _, err := dec.Decode(fr); !errors.Is(err, codec.ErrNeedKeyFrame) {
				t.Fatalf("interframe to a fresh decoder: %v, want ErrNeedKeyFrame", err)
			}
		}
		// The stream recovers at the keyframe.
		for i, fr := range frames {
			pic, err := dec.Decode(fr)
			if err != nil {
				t.Fatalf("frame %d after recovery: %v", i, err)
			}
			if pic != nil {
				checkPicture(t, pic)
			}
		}
	})

	t.Run("WrongSizeFrame", func(t *testing.T) {
		enc := newEnc(t, 320, 240)
		for _, f := range []*media.VideoFrame{SolidFrame(640, 360, 1, 2, 3), SolidFrame(320, 238, 1, 2, 3), nil} {
			if _, _, err := enc.Encode(f, nil); err == nil {
				t.Fatalf("encoded a wrong frame %v", f)
			} else if f != nil && !errors.Is(err, codec.ErrBadInput) {
				t.Fatalf("wrong-size frame: %v, want ErrBadInput", err)
			}
		}
		// Short planes must be refused, not read past.
		f := SolidFrame(320, 240, 1, 2, 3)
		f.Y = f.Y[:len(f.Y)-1]
		if _, _, err := enc.Encode(f, nil); !errors.Is(err, codec.ErrBadInput) {
			t.Fatalf("short luma plane: %v, want ErrBadInput", err)
		}
		// And the encoder still works.
		if out, _, err := enc.Encode(SolidFrame(320, 240, 1, 2, 3), nil); err != nil || len(out) == 0 {
			t.Fatalf("encode after bad input: %d bytes, %v", len(out), err)
		}
	})

	for _, check := range []struct {
		name string
		run  func(*testing.T, codec.VideoCodec)
	}{
		{"BadEncoderParams", badEncoderParams},
		{"DecodeQuality", decodeQuality},
		{"BrokenKeyFrameNeedsNewOne", brokenKeyFrameNeedsNewOne},
		{"CorruptInterFrameNeedsKeyFrame", corruptInterFrameNeedsKeyFrame},
		{"BitrateFollowsTarget", bitrateFollowsTarget},
		{"ZeroAllocs", zeroAllocs},
		{"ConcurrentUseAndClose", concurrentUseAndClose},
	} {
		t.Run(check.name, func(t *testing.T) { check.run(t, c) })
	}
}

// checkPicture touches the first and last byte of every plane of pic so a
// bad view fails (or crashes) here rather than later.
func checkPicture(t *testing.T, pic *media.VideoFrame) {
	t.Helper()
	w, h := pic.Width, pic.Height
	if w <= 0 || h <= 0 || pic.StrideY < w || pic.StrideU < pic.ChromaWidth() || pic.StrideV < pic.ChromaWidth() {
		t.Fatalf("bad picture geometry %dx%d strides %d/%d/%d", w, h, pic.StrideY, pic.StrideU, pic.StrideV)
	}
	_, _, _ = pic.At(0, 0)
	_, _, _ = pic.At(w-1, h-1)
}

func absDiff(a, b byte) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}
