package h264_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/media"
)

func TestConformance(t *testing.T) {
	var r codec.Registry
	if err := h264.Register(&r); err != nil {
		t.Fatal(err)
	}
	c, err := r.Video("VIDEO/h264")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClockRate != 90000 {
		t.Fatalf("clock rate %d", c.ClockRate)
	}
	codectest.RunVideo(t, c)
}

// encodeStream encodes n frames of the moving test picture at w×h and
// returns copies of the encoded access units (the first is an IDR).
func encodeStream(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
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

func newDecoder(t testing.TB) *h264.Decoder {
	t.Helper()
	dec, err := h264.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dec.Close() })
	return dec
}

// nalTypes lists the NAL unit types of an Annex-B access unit.
func nalTypes(au []byte) []int {
	var types []int
	for _, p := range bytes.Split(au, []byte{0, 0, 1})[1:] {
		if len(p) > 0 {
			types = append(types, int(p[0]&0x1f))
		}
	}
	return types
}

func TestResolutionChange(t *testing.T) {
	dec := newDecoder(t)
	for _, s := range [][2]int{{320, 240}, {640, 360}, {161, 97}, {1280, 720}, {2, 2}, {1920, 1080}, {854, 480}, {320, 240}} {
		w, h := h264.CodedSize(s[0], s[1])
		for i, fr := range encodeStream(t, s[0], s[1], 10) {
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
	enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec := newDecoder(t)
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
			psnr := lumaPSNR(pic, f)
			t.Logf("640x360 moving picture: PSNR %.1f dB, %d kb/s", psnr, bytes*8*30/60/1000)
			if psnr < 25 {
				t.Fatalf("PSNR %.1f dB", psnr)
			}
		}
	}
}

func lumaPSNR(a, b *media.VideoFrame) float64 {
	var se float64
	for y := range a.Height {
		for x := range a.Width {
			d := float64(a.Y[y*a.StrideY+x]) - float64(b.Y[y*b.StrideY+x])
			se += d * d
		}
	}
	mse := se / float64(a.Width*a.Height)
	return 10 * math.Log10(255*255/max(mse, 1e-9))
}

// TestKeyFrames: the encoder's keyframe flag, IsKeyFrame and the NAL units
// agree; every IDR (the first and forced ones) carries SPS and PPS in band.
func TestKeyFrames(t *testing.T) {
	const w, h = 320, 240
	enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	f := codectest.SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	forced := map[int]bool{7: true, 8: true, 20: true}
	for i := range 30 {
		if forced[i] {
			enc.ForceKeyFrame()
		}
		codectest.MovingFrame(f, i)
		out, key, err := enc.Encode(f, buf)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(out, []byte{0, 0, 0, 1}) {
			t.Fatalf("frame %d does not start with a 4-byte start code: % x", i, out[:min(len(out), 8)])
		}
		want := i == 0 || forced[i]
		if key != want || h264.IsKeyFrame(out) != want {
			t.Fatalf("frame %d: keyframe flag %v, IsKeyFrame %v, want %v (NAL types %v)", i, key, h264.IsKeyFrame(out), want, nalTypes(out))
		}
		types := nalTypes(out)
		if want {
			if !containsSeq(types, 7, 8, 5) {
				t.Fatalf("IDR %d without SPS, PPS before the slice: NAL types %v", i, types)
			}
		} else if containsSeq(types, 5) || containsSeq(types, 7) {
			t.Fatalf("frame %d: NAL types %v", i, types)
		}
	}
	for _, b := range [][]byte{nil, {0, 0, 1}, {0, 0, 0, 1}, {0x65, 0x88}, {0, 0, 1, 0x41, 0x9a}, {0, 0, 0, 1, 0x67, 0, 0, 1, 0x68}} {
		if h264.IsKeyFrame(b) {
			t.Errorf("IsKeyFrame(% x)", b)
		}
	}
	for _, b := range [][]byte{{0, 0, 1, 0x65}, {0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x25, 0xb8}} {
		if !h264.IsKeyFrame(b) {
			t.Errorf("!IsKeyFrame(% x)", b)
		}
	}
}

// containsSeq reports whether want occurs in types in order (not
// necessarily adjacent).
func containsSeq(types []int, want ...int) bool {
	for _, t := range types {
		if len(want) > 0 && t == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}

// TestMissingReference: when a reference picture is lost, the pictures
// after it are refused with ErrNeedKeyFrame (libavcodec on its own would
// decode them against the wrong reference without complaint) until the
// next IDR.
func TestMissingReference(t *testing.T) {
	frames := encodeStream(t, 320, 240, 8)
	dec := newDecoder(t)
	for i, fr := range frames[:3] {
		if _, err := dec.Decode(fr); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// frames[3] is lost.
	for i, fr := range frames[4:] {
		if pic, err := dec.Decode(fr); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Fatalf("frame %d after a lost reference: picture %v, %v; want ErrNeedKeyFrame", i+4, pic != nil, err)
		}
	}
	// The stream recovers at an IDR (a new one, with frame_num from 0).
	for i, fr := range encodeStream(t, 320, 240, 4) {
		if pic, err := dec.Decode(fr); err != nil || pic == nil {
			t.Fatalf("frame %d after recovery: %v, %v", i, pic != nil, err)
		}
	}
	// Repeating the last picture (a duplicated packet) is harmless.
	dup := encodeStream(t, 320, 240, 3)
	dec2 := newDecoder(t)
	for i, fr := range [][]byte{dup[0], dup[1], dup[1], dup[2]} {
		if _, err := dec2.Decode(fr); err != nil {
			t.Fatalf("frame %d with a duplicate: %v", i, err)
		}
	}
}

// TestBrokenKeyFrameNeedsNewOne: after an IDR that fails, non-IDR pictures
// are refused with ErrNeedKeyFrame until the next good IDR, even if the
// decoder had a reference before.
func TestBrokenKeyFrameNeedsNewOne(t *testing.T) {
	frames := encodeStream(t, 320, 240, 4)
	dec := newDecoder(t)
	for _, fr := range frames {
		if _, err := dec.Decode(fr); err != nil {
			t.Fatal(err)
		}
	}
	key := frames[0]
	for _, cut := range []int{len(key) / 2, len(key) - 10, 40} {
		if _, err := dec.Decode(key[:cut]); err == nil && cut > 40 {
			t.Fatalf("IDR cut to %d bytes decoded", cut)
		} else if err != nil && !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Fatalf("IDR cut to %d bytes: %v", cut, err)
		}
		if _, err := dec.Decode(frames[1]); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Fatalf("picture after an IDR cut to %d bytes: %v", cut, err)
		}
		if _, err := dec.Decode(key); err != nil {
			t.Fatal(err)
		}
		if _, err := dec.Decode(frames[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCorruptInterFrameNeedsKeyFrame: a damaged picture (here truncated, as
// when the last packets of a frame are lost) is reported and the decoder
// then waits for an IDR.
func TestCorruptInterFrameNeedsKeyFrame(t *testing.T) {
	frames := encodeStream(t, 320, 240, 4)
	for _, pct := range []int{10, 50, 90, 99} {
		dec := newDecoder(t)
		if _, err := dec.Decode(frames[0]); err != nil {
			t.Fatal(err)
		}
		cut := frames[1][:len(frames[1])*pct/100]
		if _, err := dec.Decode(cut); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Errorf("picture cut to %d%%: %v, want ErrNeedKeyFrame", pct, err)
		}
		if _, err := dec.Decode(frames[2]); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Errorf("picture after a corrupt one: %v, want ErrNeedKeyFrame", err)
		}
	}
}

// bitWriter builds test bitstreams.
type bitWriter struct {
	b    []byte
	nbit int
}

func (w *bitWriter) u(n int, v uint32) {
	for i := n - 1; i >= 0; i-- {
		if w.nbit%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.nbit%8)
		w.nbit++
	}
}

func (w *bitWriter) ue(v uint32) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.u(n, 0)
	w.u(n+1, v)
}

// escaped returns the RBSP with its stop bit, emulation-prevented.
func (w *bitWriter) escaped() []byte {
	w.u(1, 1)
	var out []byte
	zeros := 0
	for _, c := range w.b {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// baselineSPS returns an SPS NAL unit (with start code) for a picture of
// wMbs×hMbs macroblocks.
func baselineSPS(wMbs, hMbs uint32) []byte {
	var w bitWriter
	w.u(8, 66)   // profile_idc: Baseline
	w.u(8, 0xc0) // constraint_set0/1: Constrained Baseline
	w.u(8, 40)   // level_idc
	w.ue(0)      // seq_parameter_set_id
	w.ue(0)      // log2_max_frame_num_minus4
	w.ue(2)      // pic_order_cnt_type
	w.ue(1)      // max_num_ref_frames
	w.u(1, 0)    // gaps_in_frame_num_value_allowed_flag
	w.ue(wMbs - 1)
	w.ue(hMbs - 1)
	w.u(1, 1) // frame_mbs_only_flag
	w.u(1, 1) // direct_8x8_inference_flag
	w.u(1, 0) // frame_cropping_flag
	w.u(1, 0) // vui_parameters_present_flag
	return append([]byte{0, 0, 0, 1, 0x67}, w.escaped()...)
}

// TestHugePictureRejected: an SPS declaring a picture larger than the
// limits is refused before libavcodec allocates anything for it, and a
// good IDR still decodes afterwards.
func TestHugePictureRejected(t *testing.T) {
	frames := encodeStream(t, 160, 120, 2)
	key := frames[0]
	pps := bytes.Index(key, []byte{0, 0, 0, 1, 0x68})
	if pps < 0 {
		t.Fatalf("no PPS in % x", key[:40])
	}
	dec := newDecoder(t)
	for _, s := range [][2]uint32{{1024, 1024}, {4096/16 + 1, 16}, {16, 4096/16 + 1}, {4096 / 16, 2304/16 + 1}} {
		huge := append(baselineSPS(s[0], s[1]), key[pps:]...)
		_, err := dec.Decode(huge)
		if !errors.Is(err, codec.ErrBadInput) || !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Fatalf("%dx%d macroblocks: %v", s[0], s[1], err)
		}
		if _, err := dec.Decode(key); err != nil {
			t.Fatalf("IDR after a rejected one: %v", err)
		}
		if _, err := dec.Decode(frames[1]); err != nil {
			t.Fatalf("picture after recovery: %v", err)
		}
	}
	// The largest allowed size is accepted by the parser (the slices do
	// not match it, so the picture itself fails in libavcodec).
	big := append(baselineSPS(4096/16, 2304/16), key[pps:]...)
	if _, err := dec.Decode(big); err != nil && strings.Contains(err.Error(), "unsupported size") {
		t.Fatalf("4096x2304: %v", err)
	}
}

// TestParameterSetsAlone: an access unit of SPS and PPS only is accepted
// without a picture and primes the decoder for an IDR that comes without
// them.
func TestParameterSetsAlone(t *testing.T) {
	frames := encodeStream(t, 320, 240, 3)
	key := frames[0]
	sei := bytes.Index(key, []byte{0, 0, 1, 6})
	idr := bytes.Index(key, []byte{0, 0, 1, 0x65})
	if sei < 0 || idr < 0 {
		t.Fatalf("unexpected IDR layout: NAL types %v", nalTypes(key))
	}
	dec := newDecoder(t)
	pic, err := dec.Decode(key[:sei])
	if err != nil || pic != nil {
		t.Fatalf("parameter sets alone: %v, %v", pic != nil, err)
	}
	for i, fr := range [][]byte{key[idr:], frames[1], frames[2]} {
		if pic, err := dec.Decode(fr); err != nil || pic == nil {
			t.Fatalf("frame %d: %v, %v", i, pic != nil, err)
		}
	}
	// Parameter sets alone begin a new sequence: a non-IDR picture after
	// them is refused.
	if _, err := dec.Decode(key[:sei]); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(frames[1]); !errors.Is(err, codec.ErrNeedKeyFrame) {
		t.Fatalf("non-IDR picture after bare parameter sets: %v", err)
	}
}

func TestBitrateFollowsTarget(t *testing.T) {
	const w, h = 640, 360
	enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30, BitrateBps: 800_000})
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
	// Up again: x264 approaches a higher target over a few seconds.
	if err := enc.SetBitrate(1_500_000); err != nil {
		t.Fatal(err)
	}
	up1 := rate()
	up2 := rate()
	t.Logf("800 kb/s target: %d kb/s; 300 kb/s: %d kb/s; 1500 kb/s: %d then %d kb/s", hi, lo, up1, up2)
	if hi < 600 || hi > 1000 || lo < 200 || lo > 400 {
		t.Fatalf("bitrate does not follow the target down: %d kb/s at 800, %d kb/s at 300", hi, lo)
	}
	if up1 < 2*lo || up2 < 1000 || up1 > 1900 || up2 > 1900 {
		t.Fatalf("bitrate does not follow the target up: %d then %d kb/s at 1500", up1, up2)
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
		if enc, err := h264.NewEncoder(p); !errors.Is(err, codec.ErrBadInput) {
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
	enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec := newDecoder(t)
	f := codectest.SolidFrame(w, h, 0, 0, 0)
	buf := make([]byte, 0, 1<<20)
	n := 0
	var out []byte
	encode := func() {
		codectest.MovingFrame(f, n)
		n++
		out, _, err = enc.Encode(f, buf)
		if err != nil {
			t.Fatal(err)
		}
	}
	decode := func() {
		if _, err := dec.Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		encode()
		decode()
	}
	if a := testing.AllocsPerRun(50, func() { encode(); decode() }); a != 0 {
		t.Fatalf("%.1f allocations per encode+decode", a)
	}
	if a := testing.AllocsPerRun(50, encode); a != 0 {
		t.Fatalf("%.1f allocations per encode", a)
	}
	// ForceKeyFrame and SetBitrate on the hot path do not allocate either.
	if a := testing.AllocsPerRun(20, func() {
		enc.ForceKeyFrame()
		if err := enc.SetBitrate(500_000 + n); err != nil {
			t.Fatal(err)
		}
		encode()
		decode()
	}); a != 0 {
		t.Fatalf("%.1f allocations per forced keyframe", a)
	}
	// Decoding the same stream again (IDR, then pictures) does not
	// allocate in Go either.
	frames := encodeStream(t, w, h, 10)
	i := 0
	if a := testing.AllocsPerRun(50, func() {
		if _, err := dec.Decode(frames[i%len(frames)]); err != nil {
			t.Fatal(err)
		}
		i++
	}); a != 0 {
		t.Fatalf("%.1f allocations per decode", a)
	}
}

func TestConcurrentUseAndClose(t *testing.T) {
	frames := encodeStream(t, 160, 120, 10)
	dec, err := h264.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: 160, Height: 120})
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
				_ = enc.SetBitrate(200_000 + i)
			}
		}()
	}
	dec.Close()
	enc.Close()
	for range 4 {
		<-done
	}
}

// ffmpegTool returns the path of an ffmpeg CLI tool, or skips the test.
func ffmpegTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package ffmpeg): %v", name, err)
	}
	return p
}

// TestIndependentDecoder checks the encoder's output with FFmpeg's
// command-line tools: ffprobe must see Constrained Baseline H.264 of the
// right size, without B-frames, and ffmpeg must decode every picture
// without an error, keyframes exactly where the encoder said.
func TestIndependentDecoder(t *testing.T) {
	ffprobe := ffmpegTool(t, "ffprobe")
	for _, s := range [][2]int{{640, 360}, {1280, 720}, {161, 97}} {
		w, h := s[0], s[1]
		cw, ch := h264.CodedSize(w, h)
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			f := codectest.SolidFrame(w, h, 0, 0, 0)
			var stream []byte
			var keys []bool
			for i := range 45 {
				if i == 20 {
					enc.ForceKeyFrame()
				}
				codectest.MovingFrame(f, i)
				out, key, err := enc.Encode(f, nil)
				if err != nil {
					t.Fatal(err)
				}
				stream = append(stream, out...)
				keys = append(keys, key)
			}
			path := filepath.Join(t.TempDir(), "out.h264")
			if err := os.WriteFile(path, stream, 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(ffprobe, "-v", "error", "-select_streams", "v:0",
				"-show_entries", "stream=codec_name,profile,level,width,height,has_b_frames,pix_fmt",
				"-of", "default=noprint_wrappers=1", path)
			got, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, got)
			}
			props := map[string]string{}
			for _, line := range strings.Split(strings.TrimSpace(string(got)), "\n") {
				k, v, _ := strings.Cut(line, "=")
				props[k] = v
			}
			t.Logf("ffprobe: %v", props)
			for k, want := range map[string]string{
				"codec_name": "h264", "profile": "Constrained Baseline",
				"width": fmt.Sprint(cw), "height": fmt.Sprint(ch),
				"has_b_frames": "0", "pix_fmt": "yuv420p",
			} {
				if props[k] != want {
					t.Errorf("ffprobe %s = %q, want %q", k, props[k], want)
				}
			}
			if w == 1280 && props["level"] != "31" {
				t.Errorf("720p30 level %s, want 31", props["level"])
			}
			// Decode every frame, failing on any error, and list which
			// are keyframes.
			cmd = exec.Command(ffprobe, "-v", "error", "-err_detect", "explode", "-select_streams", "v:0",
				"-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0", path)
			got, err = cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("ffprobe frames: %v\n%s", err, got)
			}
			var lines []string // one per frame; side data adds empty ones
			for _, l := range strings.Split(string(got), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) != len(keys) {
				t.Fatalf("ffprobe decoded %d frames, want %d:\n%s", len(lines), len(keys), got)
			}
			for i, line := range lines {
				key := strings.HasPrefix(line, "1")
				if key != keys[i] {
					t.Errorf("frame %d: ffprobe says %q, encoder keyframe %v", i, line, keys[i])
				}
			}
		})
	}
}

// TestMissingSliceNeedsKeyFrame uses ffmpeg to make a stream with two
// slices per picture, then drops one slice of a picture: libavcodec
// conceals the hole, and the decoder must refuse the concealed picture.
func TestMissingSliceNeedsKeyFrame(t *testing.T) {
	ffmpeg := ffmpegTool(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "slices.h264")
	cmd := exec.Command(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
		"-frames:v", "5", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-profile:v", "baseline",
		"-tune", "zerolatency", "-x264-params", "slices=2", "-f", "h264", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	stream, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Split into access units: a new one starts at a slice with
	// first_mb_in_slice 0 (its first bit set) or at an SPS.
	nals := bytes.Split(stream, []byte{0, 0, 1})[1:]
	var aus [][][]byte
	var cur [][]byte
	sliceSeen := false
	for _, n := range nals {
		n = bytes.TrimRight(n, "\x00")
		typ := n[0] & 0x1f
		starts := typ == 7 || ((typ == 1 || typ == 5) && n[1]&0x80 != 0 && sliceSeen)
		if starts && len(cur) > 0 {
			aus = append(aus, cur)
			cur, sliceSeen = nil, false
		}
		if typ == 1 || typ == 5 {
			sliceSeen = true
		}
		cur = append(cur, n)
	}
	aus = append(aus, cur)
	join := func(nals [][]byte) []byte {
		var b []byte
		for _, n := range nals {
			b = append(append(b, 0, 0, 0, 1), n...)
		}
		return b
	}
	if len(aus) != 5 {
		t.Fatalf("%d access units", len(aus))
	}
	dec := newDecoder(t)
	for i, au := range aus[:2] {
		if pic, err := dec.Decode(join(au)); err != nil || pic == nil {
			t.Fatalf("access unit %d: %v, %v", i, pic != nil, err)
		}
	}
	p := aus[2]
	if len(p) != 2 {
		t.Fatalf("access unit 2 has %d NAL units, want 2 slices", len(p))
	}
	for _, keep := range []int{0, 1} {
		if _, err := dec.Decode(join(p[keep : keep+1])); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Fatalf("picture with slice %d only: %v, want ErrNeedKeyFrame", keep, err)
		}
		if _, err := dec.Decode(join(aus[3])); !errors.Is(err, codec.ErrNeedKeyFrame) {
			t.Fatalf("picture after a concealed one: %v, want ErrNeedKeyFrame", err)
		}
		for i, au := range aus[:4] {
			if _, err := dec.Decode(join(au)); err != nil {
				t.Fatalf("access unit %d after recovery: %v", i, err)
			}
		}
		// Back to just after aus[1] for the next round.
		for _, au := range aus[:2] {
			if _, err := dec.Decode(join(au)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDamagedStreams decodes a stream with random bit errors, cuts and
// splices: nothing crashes, every error is of a known kind, every picture
// returned is whole, and the next clean IDR always recovers.
func TestDamagedStreams(t *testing.T) {
	frames := encodeStream(t, 176, 144, 12)
	rng := rand.New(rand.NewPCG(3, 4))
	dec := newDecoder(t)
	for iter := range 400 {
		for i, fr := range frames {
			b := append([]byte(nil), fr...)
			switch rng.IntN(4) {
			case 0: // bit errors
				for range 1 + rng.IntN(4) {
					b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
				}
			case 1: // cut
				b = b[:rng.IntN(len(b))]
			case 2: // splice of another frame's tail
				o := frames[rng.IntN(len(frames))]
				b = append(b[:rng.IntN(len(b))], o[rng.IntN(len(o)):]...)
			}
			pic, err := dec.Decode(b)
			if err != nil && !errors.Is(err, codec.ErrBadInput) && !errors.Is(err, codec.ErrNeedKeyFrame) {
				t.Fatalf("iteration %d frame %d: unexpected error kind: %v", iter, i, err)
			}
			if pic != nil {
				if pic.Width != 176 || pic.Height != 144 {
					// A damaged SPS may declare another size; the
					// picture must still be whole.
					if pic.Width > codec.MaxDecodeWidth || pic.Height > codec.MaxDecodeHeight {
						t.Fatalf("picture %dx%d", pic.Width, pic.Height)
					}
				}
				_ = pic.Y[len(pic.Y)-1] + pic.U[len(pic.U)-1] + pic.V[len(pic.V)-1]
			}
		}
		if pic, err := dec.Decode(frames[0]); err != nil || pic == nil {
			t.Fatalf("iteration %d: clean IDR: %v, %v", iter, pic != nil, err)
		}
	}
}

func benchSizes() [][2]int { return [][2]int{{640, 360}, {1280, 720}} }

func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSizes() {
		w, h := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", w, h), func(b *testing.B) {
			enc, err := h264.NewEncoder(codec.VideoEncoderParams{Width: w, Height: h, FPS: 30})
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
			// Two seconds: one IDR, then P pictures; looping restarts
			// at the IDR.
			frames := encodeStream(b, w, h, 60)
			dec, err := h264.NewDecoder()
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
	f.Add([]byte{0, 0, 0, 1, 0x65, 0x88, 0x84}, true)
	f.Add(baselineSPS(1024, 1024), false)
	f.Add(append(baselineSPS(4, 3), 0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80), true)
	f.Fuzz(func(t *testing.T, data []byte, afterKey bool) {
		dec, err := h264.NewDecoder()
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
		// A good IDR always recovers the decoder.
		if pic, err := dec.Decode(key); err != nil || pic == nil {
			t.Fatalf("IDR after fuzz input: %v, %v", pic != nil, err)
		}
		if pic, err := dec.Decode(inter); err != nil || pic == nil {
			t.Fatalf("picture after recovery: %v, %v", pic != nil, err)
		}
	})
}
