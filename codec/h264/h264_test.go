package h264_test

import (
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/h264"
)

func TestConformance(t *testing.T) {
	var r codec.Registry
	if err := h264.Register(&r); err != nil {
		t.Fatal(err)
	}
	c, err := r.Video("video/h264")
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
