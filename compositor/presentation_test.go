package compositor

import (
	"errors"
	"fmt"
	"testing"
)

// TestPresentationGeometry: the share keeps the left part whole, the
// cameras stack in the right column, nothing overlaps or leaves the
// canvas, and a 1920×1080 share is drawn as large as the region allows.
func TestPresentationGeometry(t *testing.T) {
	want := map[int][]Rect{
		1: {{0, 0, 1280, 720}},
		2: {{0, 0, 1024, 720}, {1024, 288, 256, 144}},
		4: {{0, 0, 1024, 720}, {1024, 144, 256, 144}, {1024, 288, 256, 144}, {1024, 432, 256, 144}},
	}
	for n := 0; n <= MaxGridTiles; n++ {
		regs, err := Regions(Presentation(), 1280, 720, n)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if len(regs) != n {
			t.Fatalf("n=%d: %d regions", n, len(regs))
		}
		for i, r := range regs {
			if !r.Rect.Even() || !r.Rect.Within(1280, 720) || r.Rect.Empty() || r.Fit != FitContain {
				t.Errorf("n=%d region %d: %+v", n, i, r)
			}
			for j := range i {
				if r.Rect.Overlaps(regs[j].Rect) {
					t.Errorf("n=%d: regions %d and %d overlap", n, j, i)
				}
			}
			if i > 0 && r.Rect.W*r.Rect.H >= regs[0].Rect.W*regs[0].Rect.H {
				t.Errorf("n=%d: camera %d not smaller than the share", n, i)
			}
		}
		if w, ok := want[n]; ok {
			for i := range w {
				if regs[i].Rect != w[i] {
					t.Errorf("n=%d region %d: %v, want %v", n, i, regs[i].Rect, w[i])
				}
			}
		}
	}
	regs, _ := Regions(Presentation(), 1280, 720, 3)
	if dst, _ := ContentRect(regs[0].Rect, 1920, 1080, FitContain); dst != (Rect{0, 72, 1024, 576}) {
		t.Errorf("a 1920x1080 share is drawn at %v", dst)
	}
	if _, err := Regions(Presentation(), 1280, 720, MaxGridTiles+1); !errors.Is(err, ErrTooManyTiles) {
		t.Errorf("17 tiles: %v", err)
	}
	if _, err := Regions(Presentation(), 64, 16, 10); !errors.Is(err, ErrTooManyTiles) {
		t.Errorf("9 cameras on a 16 px canvas: %v", err)
	}
}

// TestPresentationCompose: the share's picture in the large region, the
// cameras' in the column.
func TestPresentationCompose(t *testing.T) {
	c := mustNew(t, 1280, 720)
	tiles := []Tile{{Frame: newFrame(t, 1920, 1080, 0, blue)}, {Frame: newFrame(t, 640, 360, 0, red)}, {Frame: newFrame(t, 640, 360, 0, green)}}
	cv, err := c.Compose(Presentation(), tiles)
	if err != nil {
		t.Fatal(err)
	}
	dumpPNG(t, cv, "presentation")
	checkColour(t, cv, 512, 360, blue, 2, "share")
	checkColour(t, cv, 512, 40, black, 0, "bar above the share")
	checkColour(t, cv, 1152, 288, red, 2, "first camera")
	checkColour(t, cv, 1152, 432, green, 2, "second camera")
	for _, n := range []int{2, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if _, err := c.Compose(Presentation(), benchTiles(t, n, 320, 180)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
