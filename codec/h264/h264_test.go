package h264_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/h264"
	"go.uber.org/goleak"
)

// h264c is the codec as h264.Register registers it.
var h264c = codectest.RegisteredVideo(h264.Register, "VIDEO/h264")

// TestMain fails the package if any goroutine outlives the tests (the
// conformance suite uses encoders and decoders from several at once).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) { codectest.RunVideo(t, h264c) }

// encodeStream encodes n frames of the moving test picture at w×h and
// returns copies of the encoded access units (the first is an IDR).
func encodeStream(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	return codectest.EncodeStream(t, h264c, w, h, n)
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
	sizes := [][2]int{{320, 240}, {640, 360}, {161, 97}, {1280, 720}, {2, 2}, {1920, 1080}, {854, 480}, {320, 240}}
	codectest.ResolutionChange(t, h264c, sizes, h264.CodedSize)
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
	dec := codectest.NewDecoder(t, h264c)
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
	dec2 := codectest.NewDecoder(t, h264c)
	for i, fr := range [][]byte{dup[0], dup[1], dup[1], dup[2]} {
		if _, err := dec2.Decode(fr); err != nil {
			t.Fatalf("frame %d with a duplicate: %v", i, err)
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
	dec := codectest.NewDecoder(t, h264c)
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
	dec := codectest.NewDecoder(t, h264c)
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
	dec := codectest.NewDecoder(t, h264c)
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
	dec := codectest.NewDecoder(t, h264c)
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

func BenchmarkEncode(b *testing.B) { codectest.BenchEncode(b, h264c) }

func BenchmarkDecode(b *testing.B) { codectest.BenchDecode(b, h264c) }

func FuzzDecode(f *testing.F) {
	codectest.FuzzDecode(f, h264c,
		codectest.FuzzSeed{Data: []byte{0, 0, 0, 1, 0x65, 0x88, 0x84}, AfterKey: true},
		codectest.FuzzSeed{Data: baselineSPS(1024, 1024)},
		codectest.FuzzSeed{Data: append(baselineSPS(4, 3), 0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80), AfterKey: true})
}

// TestRungsKeepTheirRate: see codectest.RungsKeepTheirRate.
func TestRungsKeepTheirRate(t *testing.T) { codectest.RungsKeepTheirRate(t, h264c) }
