package compositor

import (
	"errors"
	"testing"

	"github.com/mcu-project/mcu/media"
)

// FuzzCompose throws arbitrary canvas sizes, tile counts, frame geometries
// (including inconsistent ones) and fits at Compose: it must never panic,
// and must fail only with the documented errors.
func FuzzCompose(f *testing.F) {
	// Seeds: the table cases of the unit tests.
	for _, s := range []struct {
		cw, ch     uint16
		n          uint8
		sw, sh     uint16
		pad, cut   uint16
		fit, label uint8
	}{
		{1280, 720, 1, 640, 480, 0, 0, 1, 0},
		{640, 360, 4, 176, 144, 7, 0, 2, 1},
		{640, 360, 9, 175, 99, 0, 1, 0, 2},
		{16, 16, 16, 1, 1, 0, 0, 1, 3},
		{1281, 720, 1, 64, 64, 0, 0, 1, 0},
		{640, 360, 17, 64, 64, 0, 0, 1, 0},
		{640, 360, 2, 0, 64, 0, 0, 1, 0},
		{640, 360, 3, 8000, 2, 3, 500, 2, 0},
	} {
		f.Add(s.cw, s.ch, s.n, s.sw, s.sh, s.pad, s.cut, s.fit, s.label)
	}
	labels := []string{"", "Alice", "Ève Zoë 李", "a very long participant name that will not fit"}
	f.Fuzz(func(t *testing.T, cw, ch uint16, n uint8, sw, sh, pad, cut uint16, fit, label uint8) {
		c, err := New(int(cw)%2100, int(ch)%2100)
		if err != nil {
			if !errors.Is(err, ErrInvalidSize) {
				t.Fatalf("New: %v", err)
			}
			return
		}
		w, h := int(sw)%2000, int(sh)%1200
		var frame *media.VideoFrame
		if w > 0 && h > 0 {
			frame = newFrame(t, w, h, int(pad)%64, red)
			frame.Y = frame.Y[:max(0, len(frame.Y)-int(cut))]
			if pad&64 != 0 {
				frame.StrideU -= int(pad) % 3 // sometimes too small
			}
		} else {
			frame = &media.VideoFrame{Width: w, Height: h}
		}
		tiles := make([]Tile, int(n)%20)
		for i := range tiles {
			tiles[i] = Tile{Frame: frame, Label: labels[int(label)%len(labels)]}
			if (i+int(label))%3 == 0 {
				tiles[i].Frame = nil
			}
		}
		check := func(out *media.VideoFrame, err error, layoutErr error) {
			switch {
			case err == nil:
				if out == nil {
					t.Fatal("nil canvas without error")
				}
			case errors.Is(err, ErrBadFrame):
				if out == nil {
					t.Fatal("bad frame: canvas should still be returned")
				}
			case layoutErr != nil && errors.Is(err, layoutErr):
				if out != nil {
					t.Fatal("layout error with a canvas")
				}
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		out, err := c.Compose(Grid(), tiles)
		check(out, err, ErrTooManyTiles)
		out, err = c.Compose(Speaker(), tiles)
		check(out, err, ErrTooManyTiles)
		out, err = c.Compose(PIP(), tiles)
		check(out, err, ErrTooManyTiles)
		custom := &Custom{}
		for i := range tiles {
			x := float64(i%4) / 4
			custom.Regions = append(custom.Regions, NormRegion{X: x, Y: x / 2, W: 0.25, H: 0.4, Z: -i, Fit: Fit(fit % 3)})
		}
		out, err = c.Compose(custom, tiles)
		check(out, err, nil)
	})
}
