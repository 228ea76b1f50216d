package vpx_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
)

func TestConformance(t *testing.T) {
	var r codec.Registry
	if err := vpx.Register(&r); err != nil {
		t.Fatal(err)
	}
	c, err := r.Video("VIDEO/vp8")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClockRate != 90000 {
		t.Fatalf("clock rate %d", c.ClockRate)
	}
	codectest.RunVideo(t, c)
}

// encodeStream encodes n frames of the moving test picture at w×h and
// returns copies of the encoded frames (the first is a keyframe).
func encodeStream(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := codectest.SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	var out [][]byte
	for i := range n {
		codectest.MovingFrame(f, i)
		b, key, err := enc.Encode(f, buf)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && !key {
			t.Fatal("first frame is not a keyframe")
		}
		out = append(out, append([]byte(nil), b...))
	}
	return out
}

func TestResolutionChange(t *testing.T) {
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, s := range [][2]int{{320, 240}, {640, 360}, {161, 97}, {1280, 720}, {320, 240}} {
		w, h := s[0], s[1]
		for i, fr := range encodeStream(t, w, h, 10) {
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

// TestDecodeQuality checks that the moving picture survives encoding well
// (PSNR of the luma plane at the default bitrate).
func TestDecodeQuality(t *testing.T) {
	const w, h = 640, 360
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	f := codectest.SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	var bytes int
	for i := range 60 {
		codectest.MovingFrame(f, i)
		out, _, err := enc.Encode(f, buf)
		if err != nil {
			t.Fatal(err)
		}
		bytes += len(out)
		pic, err := dec.Decode(out)
		if err != nil {
			t.Fatal(err)
		}
		if i == 59 {
			var se float64
			for y := range h {
				for x := range w {
					d := float64(pic.Y[y*pic.StrideY+x]) - float64(f.Y[y*f.StrideY+x])
					se += d * d
				}
			}
			mse := se / (w * h)
			psnr := 10 * math.Log10(255*255/max(mse, 1e-9))
			t.Logf("640x360 moving picture: PSNR %.1f dB, %d kb/s", psnr, bytes*8*30/60/1000)
			if psnr < 25 {
				t.Fatalf("PSNR %.1f dB", psnr)
			}
		}
	}
}

func TestKeyFrameHelpers(t *testing.T) {
	frames := encodeStream(t, 322, 180, 3)
	if !vpx.IsKeyFrame(frames[0]) || vpx.IsKeyFrame(frames[1]) {
		t.Fatal("IsKeyFrame misclassifies the stream")
	}
	w, h, ok := vpx.KeyFrameSize(frames[0])
	if !ok || w != 322 || h != 180 {
		t.Fatalf("KeyFrameSize = %d, %d, %v", w, h, ok)
	}
	if _, _, ok := vpx.KeyFrameSize(frames[1]); ok {
		t.Fatal("KeyFrameSize of an interframe")
	}
	for _, b := range [][]byte{nil, {0}, {0, 0, 0, 0x9d, 1, 0x2a}, frames[0][:9]} {
		if vpx.IsKeyFrame(b) {
			t.Fatalf("IsKeyFrame(%x)", b)
		}
	}
}

// TestHugeKeyFrameRejected: a keyframe declaring 16383×16383 must not
// make libvpx allocate gigabytes.
func TestHugeKeyFrameRejected(t *testing.T) {
	key := encodeStream(t, 160, 120, 1)[0]
	huge := append([]byte(nil), key...)
	huge[6], huge[7], huge[8], huge[9] = 0xff, 0x3f, 0xff, 0x3f
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if _, err := dec.Decode(huge); !errors.Is(err, codec.ErrBadInput) || !errors.Is(err, codec.ErrNeedKeyFrame) {
		t.Fatalf("huge keyframe: %v", err)
	}
	if _, err := dec.Decode(key); err != nil {
		t.Fatalf("keyframe after a rejected one: %v", err)
	}
}

// TestBrokenKeyFrameNeedsNewOne: after a keyframe that fails, interframes
// are refused with ErrNeedKeyFrame until the next good keyframe, even if the
// decoder had a reference before.
func TestBrokenKeyFrameNeedsNewOne(t *testing.T) {
	frames := encodeStream(t, 320, 240, 4)
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for _, fr := range frames {
		if _, err := dec.Decode(fr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dec.Decode(frames[0][:8]); !errors.Is(err, codec.ErrNeedKeyFrame) {
		t.Fatalf("truncated keyframe: %v", err)
	}
	if _, err := dec.Decode(frames[1]); !errors.Is(err, codec.ErrNeedKeyFrame) {
		t.Fatalf("interframe after a broken keyframe: %v", err)
	}
	if _, err := dec.Decode(frames[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(frames[1]); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptInterFrameNeedsKeyFrame: a damaged interframe (here truncated,
// as when the last packets of a frame are lost) is reported, by libvpx's
// error or its corruption flag, and the decoder then waits for a keyframe.
func TestCorruptInterFrameNeedsKeyFrame(t *testing.T) {
	frames := encodeStream(t, 320, 240, 4)
	for _, pct := range []int{10, 50, 90, 99} {
		dec, err := vpx.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Decode(frames[0]); err != nil {
			t.Fatal(err)
		}
		cut := frames[1][:len(frames[1])*pct/100]
		if _, err := dec.Decode(cut); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Errorf("interframe cut to %d%%: %v, want ErrNeedKeyFrame", pct, err)
		}
		if _, err := dec.Decode(frames[2]); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Errorf("interframe after a corrupt one: %v, want ErrNeedKeyFrame", err)
		}
		dec.Close()
	}
}

func TestBitrateFollowsTarget(t *testing.T) {
	const w, h = 640, 360
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30, BitrateBps: 800_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := codectest.SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	n := 0
	rate := func() int { // kb/s over 2 s after a 1 s settle
		total := 0
		for i := range 90 {
			codectest.MovingFrame(f, n)
			n++
			out, _, err := enc.Encode(f, buf)
			if err != nil {
				t.Fatal(err)
			}
			if i >= 30 {
				total += len(out)
			}
		}
		return total * 8 / 2 / 1000
	}
	hi := rate()
	if err := enc.SetBitrate(300_000); err != nil {
		t.Fatal(err)
	}
	lo := rate()
	t.Logf("800 kb/s target: %d kb/s; 300 kb/s target: %d kb/s", hi, lo)
	if hi < 600 || hi > 1000 || lo < 200 || lo > 400 {
		t.Fatalf("bitrate does not follow the target: %d kb/s at 800, %d kb/s at 300", hi, lo)
	}
	if err := enc.SetBitrate(0); !errors.Is(err, codec.ErrBadInput) {
		t.Fatalf("SetBitrate(0): %v", err)
	}
}

func TestBadEncoderParams(t *testing.T) {
	for _, p := range []codec.VideoEncoderParams{
		{Width: 0, Height: 10}, {Width: 10, Height: -1}, {Width: 9000, Height: 10},
		{Width: 10, Height: 10, FPS: -1}, {Width: 10, Height: 10, BitrateBps: -5},
	} {
		if enc, err := vpx.NewEncoder(p); !errors.Is(err, codec.ErrBadInput) {
			if enc != nil {
				enc.Close()
			}
			t.Errorf("NewEncoder(%+v): %v", p, err)
		}
	}
}

// TestZeroAllocs: steady-state Encode (into a buffer with room) and Decode
// do not allocate.
func TestZeroAllocs(t *testing.T) {
	const w, h = 320, 240
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	f := codectest.SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	n := 0
	step := func() {
		codectest.MovingFrame(f, n)
		n++
		out, _, err := enc.Encode(f, buf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		step()
	}
	if a := testing.AllocsPerRun(50, step); a != 0 {
		t.Fatalf("%.1f allocations per encode+decode", a)
	}
	// ForceKeyFrame and SetBitrate on the hot path do not allocate either.
	if a := testing.AllocsPerRun(20, func() {
		enc.ForceKeyFrame()
		if err := enc.SetBitrate(500_000 + n); err != nil {
			t.Fatal(err)
		}
		step()
	}); a != 0 {
		t.Fatalf("%.1f allocations per forced keyframe", a)
	}
}

func TestConcurrentUseAndClose(t *testing.T) {
	frames := encodeStream(t, 160, 120, 10)
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: 160, Height: 120})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			f := codectest.SolidFrame(160, 120, byte(g), 0, 0)
			for i := range 200 {
				if _, err := dec.Decode(frames[i%len(frames)]); errors.Is(err, codec.ErrClosed) {
					return
				}
				if _, _, err := enc.Encode(f, nil); errors.Is(err, codec.ErrClosed) {
					return
				}
				enc.ForceKeyFrame()
			}
		}()
	}
	dec.Close()
	enc.Close()
	for range 4 {
		<-done
	}
}

func benchSizes() [][2]int { return [][2]int{{640, 360}, {1280, 720}} }

func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSizes() {
		w, h := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			// Pre-draw a second of the moving picture so only the
			// encoder is timed.
			pics := make([]*media.VideoFrame, 30)
			for i := range pics {
				pics[i] = codectest.SolidFrame(w, h, 0, 0, 0)
				codectest.MovingFrame(pics[i], i)
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

func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes() {
		w, h := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			// Two seconds: one keyframe, then interframes; looping
			// restarts at the keyframe.
			frames := encodeStream(b, w, h, 60)
			dec, err := vpx.NewDecoder()
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

func FuzzDecode(f *testing.F) {
	frames := encodeStream(f, 64, 48, 3)
	key, inter := frames[0], frames[1]
	f.Add(key, false)
	f.Add(inter, true)
	f.Add(frames[2], true)
	f.Add(key[:len(key)/2], false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, false)
	f.Add([]byte{0, 0, 0, 0x9d, 0x01, 0x2a, 0x10, 0, 0x10, 0}, true)
	f.Fuzz(func(t *testing.T, data []byte, afterKey bool) {
		dec, err := vpx.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
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
		if _, err := dec.Decode(key); err != nil {
			t.Fatalf("keyframe after fuzz input: %v", err)
		}
	})
}
