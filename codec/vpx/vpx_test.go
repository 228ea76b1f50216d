package vpx_test

import (
	"errors"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/vpx"
	"go.uber.org/goleak"
)

// vp8 is the codec as vpx.Register registers it.
var vp8 = codectest.RegisteredVideo(vpx.Register, "VIDEO/vp8")

// TestMain fails the package if any goroutine outlives the tests (the
// conformance suite uses encoders and decoders from several at once).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) { codectest.RunVideo(t, vp8) }

func TestResolutionChange(t *testing.T) {
	codectest.ResolutionChange(t, vp8, [][2]int{{320, 240}, {640, 360}, {161, 97}, {1280, 720}, {320, 240}}, nil)
}

func TestKeyFrameHelpers(t *testing.T) {
	frames := codectest.EncodeStream(t, vp8, 322, 180, 3)
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
	key := codectest.EncodeStream(t, vp8, 160, 120, 1)[0]
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

func BenchmarkEncode(b *testing.B) { codectest.BenchEncode(b, vp8) }

func BenchmarkDecode(b *testing.B) { codectest.BenchDecode(b, vp8) }

func FuzzDecode(f *testing.F) {
	codectest.FuzzDecode(f, vp8,
		// A keyframe header declaring 16×16 with nothing behind it.
		codectest.FuzzSeed{Data: []byte{0, 0, 0, 0x9d, 0x01, 0x2a, 0x10, 0, 0x10, 0}, AfterKey: true})
}

// TestRungsKeepTheirRate: on the hardest content, with a keyframe forced
// every 3 s, every rung of the default 720p ladder (and the test ladder's
// lowest) stays within 10 % of its rate over any 2 s.
func TestRungsKeepTheirRate(t *testing.T) { codectest.RungsKeepTheirRate(t, vp8) }
