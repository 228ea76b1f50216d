package vpx_test

import (
	"errors"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
)

// activeScene is a 320×176 picture (20×11 macroblocks) of gentle noise with
// a square of luma sq at (x, y).
func activeScene(t testing.TB, sq byte, x, y int) *media.VideoFrame {
	f, err := media.NewVideoFrame(320, 176)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Y {
		f.Y[i] = byte(80 + (i*7)%13)
	}
	for j := y; j < y+32; j++ {
		for i := x; i < x+32; i++ {
			f.Y[j*f.StrideY+i] = sq
		}
	}
	for i := range f.U {
		f.U[i], f.V[i] = 128, 128
	}
	return f
}

// lumaAt is the decoded picture's mean luma over the 16×16 block at (x, y).
func lumaAt(f *media.VideoFrame, x, y int) int {
	sum := 0
	for j := y; j < y+16; j++ {
		for i := x; i < x+16; i++ {
			sum += int(f.Y[j*f.StrideY+i])
		}
	}
	return sum / 256
}

// TestActiveMap: a change inside the active map reaches the decoder; a
// change outside it does not (the encoder kept those macroblocks); the map
// applies to one Encode only, so the next frame without a map brings the
// rest; a forced keyframe ignores the map; a map of the wrong size is
// refused and changes nothing.
func TestActiveMap(t *testing.T) {
	enc, err := vpx.NewEncoder(codec.VideoEncoderParams{Width: 320, Height: 176, FPS: 30, BitrateBps: 2_000_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := vpx.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	const cols, rows = 20, 11
	encode := func(f *media.VideoFrame, active []byte) (*media.VideoFrame, int) {
		t.Helper()
		if active != nil {
			if err := enc.SetActiveMap(active, cols, rows); err != nil {
				t.Fatal(err)
			}
		}
		out, _, err := enc.Encode(f, nil)
		if err != nil || len(out) == 0 {
			t.Fatalf("encode: %d bytes, %v", len(out), err)
		}
		pic, err := dec.Decode(out)
		if err != nil || pic == nil {
			t.Fatalf("decode: %v", err)
		}
		return pic, len(out)
	}
	// Squares at (32, 32) (macroblocks 2-3 × 2-3) and (224, 96).
	for range 5 {
		encode(activeScene(t, 200, 32, 32), nil)
	}
	// Both squares move away: only the first one's macroblocks are active.
	active := make([]byte, cols*rows)
	for _, mb := range [][2]int{{2, 2}, {3, 2}, {2, 3}, {3, 3}} {
		active[mb[1]*cols+mb[0]] = 1
	}
	moved := activeScene(t, 40, 32, 32)
	pic, size := encode(moved, active)
	if got := lumaAt(pic, 40, 40); got > 70 {
		t.Errorf("the change inside the active map did not arrive: luma %d, want ~40", got)
	}
	if got := lumaAt(moved, 200, 130); got > 100 {
		t.Fatalf("scene: luma %d", got)
	}

	// Nothing active: the frame is tiny and the picture stays.
	idle := make([]byte, cols*rows)
	second := activeScene(t, 40, 32, 32)
	for j := 100; j < 140; j++ {
		for i := 200; i < 260; i++ {
			second.Y[j*second.StrideY+i] = 230 // a change outside any map
		}
	}
	pic, idleSize := encode(second, idle)
	if got := lumaAt(pic, 216, 112); got > 120 {
		t.Errorf("a change outside the active map was encoded: luma %d", got)
	}
	if idleSize >= size {
		t.Errorf("an all-inactive frame is %d bytes, not smaller than a partial one (%d)", idleSize, size)
	}

	// No map on the next frame: everything is encoded again.
	pic, _ = encode(second, nil)
	if got := lumaAt(pic, 216, 112); got < 180 {
		t.Errorf("after the map, the change outside it did not arrive: luma %d, want ~230", got)
	}

	// A forced keyframe encodes the whole picture whatever the map says.
	third := activeScene(t, 250, 160, 128)
	enc.ForceKeyFrame()
	if err := enc.SetActiveMap(idle, cols, rows); err != nil {
		t.Fatal(err)
	}
	out, key, err := enc.Encode(third, nil)
	if err != nil || !key {
		t.Fatalf("forced keyframe: key %v, err %v", key, err)
	}
	if pic, err = dec.Decode(out); err != nil {
		t.Fatal(err)
	}
	if got := lumaAt(pic, 168, 136); got < 220 {
		t.Errorf("keyframe with an idle map lost the picture: luma %d, want ~250", got)
	}

	for _, bad := range []struct {
		m          []byte
		cols, rows int
	}{{make([]byte, 10), cols, rows}, {make([]byte, 19*11), 19, 11}, {make([]byte, 20*12), 20, 12}} {
		if err := enc.SetActiveMap(bad.m, bad.cols, bad.rows); !errors.Is(err, codec.ErrBadInput) {
			t.Errorf("map %d×%d of %d: %v, want ErrBadInput", bad.cols, bad.rows, len(bad.m), err)
		}
	}
	enc.Close()
	if err := enc.SetActiveMap(idle, cols, rows); !errors.Is(err, codec.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
