package compositor

import (
	"fmt"
	"testing"
)

// benchTiles returns n tiles of w×h frames with some texture (plus
// placeholders for the indices in phs).
func benchTiles(tb testing.TB, n, w, h int, phs ...int) []Tile {
	tiles := make([]Tile, n)
	for i := range tiles {
		f := newFrame(tb, w, h, 0, white)
		for y := range h {
			for x := range w {
				f.Y[y*f.StrideY+x] = byte(16 + (x^y+i*17)%219)
			}
		}
		tiles[i] = Tile{Frame: f, Label: fmt.Sprint("Participant ", i)}
	}
	for _, i := range phs {
		tiles[i].Frame = nil
	}
	return tiles
}

var benchCases = []struct {
	n, w, h int
	phs     []int
}{
	{1, 1280, 720, nil},
	{4, 640, 360, nil},
	{4, 1280, 720, nil},
	{9, 640, 360, nil},
	{9, 1280, 720, nil},
	{16, 320, 180, nil},
	{16, 640, 360, []int{3, 7}},
	{4, 640, 480, nil},
}

func BenchmarkCompose(b *testing.B) {
	for _, bc := range benchCases {
		name := fmt.Sprintf("tiles=%d/src=%s", bc.n, size(bc.w, bc.h))
		if len(bc.phs) > 0 {
			name += fmt.Sprintf("+%dplaceholders", len(bc.phs))
		}
		b.Run(name, func(b *testing.B) {
			c := mustNew(b, DefaultWidth, DefaultHeight)
			tiles := benchTiles(b, bc.n, bc.w, bc.h, bc.phs...)
			layout := Grid()
			if _, err := c.Compose(layout, tiles); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Compose(layout, tiles); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkComposeLayouts measures the speaker and picture-in-picture
// layouts at 1280×720 (allocations must be 0).
func BenchmarkComposeLayouts(b *testing.B) {
	for _, bc := range []struct {
		name    string
		layout  Layout
		n, w, h int
	}{
		{"speaker/tiles=2/src=1280x720", Speaker(), 2, 1280, 720},
		{"speaker/tiles=6/src=640x360", Speaker(), 6, 640, 360},
		{"speaker/tiles=16/src=640x360", Speaker(), 16, 640, 360},
		{"speaker/tiles=16/src=320x180", Speaker(), 16, 320, 180},
		{"pip/tiles=1/src=1280x720", PIP(), 1, 1280, 720},
		{"pip/tiles=2/src=1280x720", PIP(), 2, 1280, 720},
		{"pip/tiles=2/src=640x480", PIP(), 2, 640, 480},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := mustNew(b, DefaultWidth, DefaultHeight)
			tiles := benchTiles(b, bc.n, bc.w, bc.h)
			if _, err := c.Compose(bc.layout, tiles); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Compose(bc.layout, tiles); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScalePlane compares the kernels on one luma plane: pure Go
// always, libyuv too unless built without cgo or with -tags nolibyuv.
func BenchmarkScalePlane(b *testing.B) {
	for _, sz := range [][4]int{{1280, 720, 640, 360}, {1280, 720, 426, 240}, {640, 360, 426, 240}, {640, 480, 1280, 720}} {
		sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
		src := make([]byte, sw*sh)
		for i := range src {
			src[i] = byte(i * 7)
		}
		dst := make([]byte, dw*dh)
		name := fmt.Sprintf("%dx%d->%dx%d", sw, sh, dw, dh)
		b.Run(name+"/purego", func(b *testing.B) {
			var h, v coeffs
			fw, fs := h.compute(sw, 0, float64(sw), dw, nil, nil)
			v.compute(sh, 0, float64(sh), dh, fw, fs)
			var s scratch
			scalePlane(plane{dst, dw}, 0, 0, dw, dh, plane{src, sw}, &h, &v, &s) // size the scratch
			b.ReportAllocs()
			for b.Loop() {
				scalePlane(plane{dst, dw}, 0, 0, dw, dh, plane{src, sw}, &h, &v, &s)
			}
		})
		if accelScalePlane != nil {
			b.Run(name+"/libyuv", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					accelScalePlane(plane{dst, dw}, 0, 0, dw, dh, plane{src, sw}, 0, 0, sw, sh)
				}
			})
		}
	}
}

// TestComposeZeroAllocs: steady-state Compose does not allocate, for
// video tiles, placeholders and custom layouts alike.
func TestComposeZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("slow under -race")
	}
	pip := &Custom{Regions: []NormRegion{{W: 1, H: 1, Fit: FitCover}, {X: 0.7, Y: 0.7, W: 0.25, H: 0.25, Z: 1}}}
	for _, tt := range []struct {
		name   string
		layout Layout
		tiles  []Tile
	}{
		{"grid4", Grid(), benchTiles(t, 4, 640, 360)},
		{"grid9 720p", Grid(), benchTiles(t, 9, 1280, 720)},
		{"grid16 mixed", Grid(), benchTiles(t, 16, 176, 144, 0, 5, 15)},
		{"pip", pip, benchTiles(t, 2, 640, 480, 1)},
		{"empty", Grid(), nil},
		{"speaker2", Speaker(), benchTiles(t, 2, 640, 360)},
		{"speaker6", Speaker(), benchTiles(t, 6, 640, 360)},
		{"speaker16 mixed", Speaker(), benchTiles(t, 16, 320, 180, 0, 4, 15)},
		{"speaker empty", Speaker(), nil},
		{"PIP single", PIP(), benchTiles(t, 1, 1280, 720)},
		{"PIP", PIP(), benchTiles(t, 2, 1280, 720)},
		{"PIP 4:3 inset placeholder main", PIP(), benchTiles(t, 2, 640, 480, 0)},
		{"PIP empty", PIP(), nil},
		{"grid9 overlays", Grid(), withOverlays(benchTiles(t, 9, 640, 360, 4))},
		{"speaker6 overlays", Speaker(), withOverlays(benchTiles(t, 6, 640, 360))},
		{"presentation4", Presentation(), withOverlays(benchTiles(t, 4, 1280, 720))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, DefaultWidth, DefaultHeight)
			if _, err := c.Compose(tt.layout, tt.tiles); err != nil { // warm the caches
				t.Fatal(err)
			}
			allocs := testing.AllocsPerRun(5, func() {
				if _, err := c.Compose(tt.layout, tt.tiles); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per Compose, want 0", allocs)
			}
		})
	}
}
