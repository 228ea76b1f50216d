package compositor

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mcu-project/mcu/media"
)

func mustNew(tb testing.TB, w, h int) *Compositor {
	tb.Helper()
	c, err := New(w, h)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestNewSizes(t *testing.T) {
	tests := []struct {
		w, h int
		ok   bool
	}{
		{1280, 720, true}, {16, 16, true}, {4096, 4096, true}, {1920, 1080, true}, {642, 362, true},
		{0, 0, false}, {-2, 720, false}, {14, 16, false}, {16, 14, false}, {1281, 720, false},
		{1280, 721, false}, {4098, 720, false}, {1280, 4098, false},
	}
	for _, tt := range tests {
		t.Run(size(tt.w, tt.h), func(t *testing.T) {
			c, err := New(tt.w, tt.h)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if w, h := c.Size(); w != tt.w || h != tt.h {
					t.Fatalf("Size() = %d, %d", w, h)
				}
				checkColour(t, c.Canvas(), tt.w/2, tt.h/2, black, 0, "fresh canvas")
				return
			}
			if !errors.Is(err, ErrInvalidSize) || c != nil {
				t.Fatalf("New(%d, %d) = %v, %v; want ErrInvalidSize", tt.w, tt.h, c, err)
			}
		})
	}
}

// TestColoursPreserved composes solid-colour sources of several sizes
// into grids and checks every cell: colour at the content centre and near
// the content edges, black bars.
func TestColoursPreserved(t *testing.T) {
	colours := []yuv{red, green, blue, white}
	sources := [][2]int{{640, 480}, {320, 240}, {1280, 720}, {176, 144}, {175, 99}, {1920, 1080}, {64, 64}}
	frames := map[[2]int][]*media.VideoFrame{} // per source size, one per colour
	for si, src := range sources {
		for i, col := range colours {
			frames[src] = append(frames[src], newFrame(t, src[0], src[1], (i+si)%3*8, col))
		}
	}
	for _, canvas := range [][2]int{{1280, 720}, {640, 360}} {
		c := mustNew(t, canvas[0], canvas[1])
		for _, n := range []int{1, 2, 4, 9} {
			for _, src := range sources {
				t.Run(fmt.Sprintf("%s/n=%d/src=%s", size(canvas[0], canvas[1]), n, size(src[0], src[1])), func(t *testing.T) {
					tiles := make([]Tile, n)
					for i := range tiles {
						tiles[i].Frame = frames[src][i%len(colours)]
					}
					out, err := c.Compose(Grid(), tiles)
					if err != nil {
						t.Fatal(err)
					}
					regs, _ := Regions(Grid(), canvas[0], canvas[1], n)
					for i, r := range regs {
						col := colours[i%len(colours)]
						dst, _ := ContentRect(r.Rect, src[0], src[1], FitContain)
						what := fmt.Sprintf("tile %d (%s) content %v", i, col.name, dst)
						checkColour(t, out, dst.X+dst.W/2, dst.Y+dst.H/2, col, 2, what)
						// Content edges are the source colour too
						// (edge extension, no bleeding of bars).
						checkColour(t, out, dst.X, dst.Y, col, 2, what+" top-left")
						checkColour(t, out, dst.X+dst.W-1, dst.Y+dst.H-1, col, 2, what+" bottom-right")
						// Bars: the cell outside dst is black.
						if dst.X > r.Rect.X {
							checkColour(t, out, r.Rect.X, dst.Y+dst.H/2, black, 0, fmt.Sprintf("tile %d left bar", i))
							checkColour(t, out, r.Rect.X+r.Rect.W-1, dst.Y+dst.H/2, black, 0, fmt.Sprintf("tile %d right bar", i))
						}
						if dst.Y > r.Rect.Y {
							checkColour(t, out, dst.X+dst.W/2, r.Rect.Y, black, 0, fmt.Sprintf("tile %d top bar", i))
							checkColour(t, out, dst.X+dst.W/2, r.Rect.Y+r.Rect.H-1, black, 0, fmt.Sprintf("tile %d bottom bar", i))
						}
					}
					if n == 4 && src == [2]int{640, 480} {
						dumpPNG(t, out, "grid4_"+size(canvas[0], canvas[1]))
					}
				})
			}
		}
	}
}

// TestLetterboxPixels checks the bars pixel by pixel on both axes.
func TestLetterboxPixels(t *testing.T) {
	tests := []struct {
		name    string
		canvas  [2]int
		src     [2]int
		content Rect
	}{
		{"4:3 in 16:9 pillarbox", [2]int{1280, 720}, [2]int{640, 480}, Rect{160, 0, 960, 720}},
		{"16:9 in 4:3 letterbox", [2]int{640, 480}, [2]int{1280, 720}, Rect{0, 60, 640, 360}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, tt.canvas[0], tt.canvas[1])
			out, err := c.Compose(Grid(), []Tile{{Frame: newFrame(t, tt.src[0], tt.src[1], 0, white)}})
			if err != nil {
				t.Fatal(err)
			}
			for y := 0; y < out.Height; y += 2 {
				for x := 0; x < out.Width; x += 2 {
					in := x >= tt.content.X && x < tt.content.X+tt.content.W && y >= tt.content.Y && y < tt.content.Y+tt.content.H
					want := black
					if in {
						want = white
					}
					gy, gu, gv := out.At(x, y)
					if gy != want.y || gu != want.u || gv != want.v {
						t.Fatalf("(%d,%d) = %d,%d,%d, want %s", x, y, gy, gu, gv, want.name)
					}
				}
			}
			dumpPNG(t, out, "letterbox_"+size(tt.src[0], tt.src[1]))
		})
	}
}

func TestCoverCrops(t *testing.T) {
	// 640×480 source: top and bottom 60 rows red, the middle blue. Cover
	// into a 16:9 canvas crops exactly the red bands away.
	f := newFrame(t, 640, 480, 4, blue)
	for y := range 480 {
		if y < 60 || y >= 420 {
			for x := range 640 {
				f.Y[y*f.StrideY+x] = red.y
				f.U[y/2*f.StrideU+x/2] = red.u
				f.V[y/2*f.StrideV+x/2] = red.v
			}
		}
	}
	c := mustNew(t, 1280, 720)
	l := &Custom{Regions: []NormRegion{{W: 1, H: 1, Fit: FitCover}}}
	out, err := c.Compose(l, []Tile{{Frame: f}})
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range []int{0, 1, 2, 360, 717, 718, 719} {
		for _, x := range []int{0, 640, 1279} {
			checkColour(t, out, x, y, blue, 2, "cover")
		}
	}
}

// TestPiP draws a small region over a full one (higher Z), listed first
// so that draw order must come from Z, not tile order.
func TestPiP(t *testing.T) {
	c := mustNew(t, 1280, 720)
	l := &Custom{Regions: []NormRegion{
		{X: 0.75, Y: 0.75, W: 0.25, H: 0.25, Z: 2},
		{X: 0, Y: 0, W: 1, H: 1, Z: 1},
	}}
	out, err := c.Compose(l, []Tile{
		{Frame: newFrame(t, 640, 480, 0, red)}, // 4:3 in the 16:9 inset: bars
		{Frame: newFrame(t, 1280, 720, 0, green)},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkColour(t, out, 100, 100, green, 0, "main")
	checkColour(t, out, 1120, 630, red, 2, "inset centre")
	checkColour(t, out, 962, 630, black, 0, "inset pillarbox bar over main")
	dumpPNG(t, out, "pip")
}

// TestStrides: the same picture with and without row padding composes to
// identical canvases.
func TestStrides(t *testing.T) {
	mk := func(pad int) *media.VideoFrame {
		f := newFrame(t, 333, 201, pad, white)
		for y := range 201 {
			for x := range 333 {
				f.Y[y*f.StrideY+x] = byte(16 + (x*7+y*3)%219)
			}
		}
		for y := range 101 {
			for x := range 167 {
				f.U[y*f.StrideU+x] = byte(16 + (x*5+y)%224)
				f.V[y*f.StrideV+x] = byte(16 + (x+y*9)%224)
			}
		}
		return f
	}
	for _, n := range []int{1, 4, 9} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			a, b := mustNew(t, 1280, 720), mustNew(t, 1280, 720)
			ta, tb := make([]Tile, n), make([]Tile, n)
			for i := range n {
				ta[i].Frame, tb[i].Frame = mk(0), mk(13+i)
			}
			oa, err := a.Compose(Grid(), ta)
			if err != nil {
				t.Fatal(err)
			}
			ob, err := b.Compose(Grid(), tb)
			if err != nil {
				t.Fatal(err)
			}
			if string(oa.Y) != string(ob.Y) || string(oa.U) != string(ob.U) || string(oa.V) != string(ob.V) {
				t.Fatal("padded strides change the output")
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	good := func() *media.VideoFrame { return newFrame(t, 64, 48, 0, red) }
	tests := []struct {
		name   string
		mutate func(f *media.VideoFrame)
	}{
		{"short Y", func(f *media.VideoFrame) { f.Y = f.Y[:len(f.Y)-1] }},
		{"short U", func(f *media.VideoFrame) { f.U = f.U[:10] }},
		{"nil V", func(f *media.VideoFrame) { f.V = nil }},
		{"stride < width", func(f *media.VideoFrame) { f.StrideY = 63 }},
		{"chroma stride < width", func(f *media.VideoFrame) { f.StrideU = 31 }},
		{"negative stride", func(f *media.VideoFrame) { f.StrideV = -32 }},
		{"huge stride", func(f *media.VideoFrame) { f.StrideY = 1 << 62 }},
		{"zero width", func(f *media.VideoFrame) { f.Width = 0 }},
		{"negative height", func(f *media.VideoFrame) { f.Height = -48 }},
		{"width beyond planes", func(f *media.VideoFrame) { f.Width = 65 }},
		{"too large", func(f *media.VideoFrame) { f.Width, f.Height = 1<<20, 1<<20 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, 640, 360)
			bad := good()
			tt.mutate(bad)
			out, err := c.Compose(Grid(), []Tile{{Frame: good()}, {Frame: bad, Label: "Bob"}})
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("err = %v, want ErrBadFrame", err)
			}
			if out == nil {
				t.Fatal("no canvas with a bad tile")
			}
			// The good tile is drawn; the bad one is a placeholder.
			checkColour(t, out, 160, 180, red, 2, "good tile")
			checkColour(t, out, 322, 2, yuv{"placeholder", PlaceholderY, NeutralUV, NeutralUV}, 0, "bad tile placeholder")
		})
	}

	c := mustNew(t, 640, 360)
	if _, err := c.Compose(Grid(), make([]Tile, 17)); !errors.Is(err, ErrTooManyTiles) {
		t.Errorf("17 tiles: %v", err)
	}
	if _, err := c.Compose(nil, nil); !errors.Is(err, ErrNoLayout) {
		t.Errorf("nil layout: %v", err)
	}
	var zero Compositor
	if _, err := zero.Compose(Grid(), nil); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("zero Compositor: %v", err)
	}
	var nilc *Compositor
	if _, err := nilc.Compose(Grid(), nil); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("nil Compositor: %v", err)
	}
	for _, r := range []Rect{{1, 0, 64, 64}, {0, 0, 63, 64}, {0, 0, 0, 0}, {600, 0, 64, 64}, {-2, 0, 64, 64}} {
		if _, err := c.Compose(fixedLayout{r}, []Tile{{}}); !errors.Is(err, ErrBadRegion) {
			t.Errorf("region %v: %v, want ErrBadRegion", r, err)
		}
	}
	if _, err := c.Compose(fixedLayout{}, []Tile{{}, {}}); !errors.Is(err, ErrBadRegion) {
		t.Errorf("too few regions: %v, want ErrBadRegion", err)
	}
	// Zero tiles: a black canvas.
	out, err := c.Compose(Grid(), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkColour(t, out, 320, 180, black, 0, "empty room")
}

// fixedLayout returns its rectangles regardless of n.
type fixedLayout []Rect

func (l fixedLayout) AppendRegions(dst []Region, _, _, _ int) ([]Region, error) {
	for _, r := range l {
		dst = append(dst, Region{Rect: r})
	}
	return dst, nil
}

// TestCacheBounded: changing sizes and labels every frame keeps the caches
// bounded and the output right.
func TestCacheBounded(t *testing.T) {
	c := mustNew(t, 640, 360)
	for i := range 100 {
		f := newFrame(t, 100+2*i, 80+i, 0, green)
		out, err := c.Compose(Grid(), []Tile{{Frame: f}, {Label: fmt.Sprint("user ", i)}})
		if err != nil {
			t.Fatal(err)
		}
		if i%25 == 0 {
			regs, _ := Regions(Grid(), 640, 360, 2)
			dst, _ := ContentRect(regs[0].Rect, f.Width, f.Height, FitContain)
			checkColour(t, out, dst.X+dst.W/2, dst.Y+dst.H/2, green, 2, "tile")
		}
	}
	if len(c.scalers) > maxScalerEntries+1 || len(c.places) > maxPlaceholderEntries+1 {
		t.Fatalf("caches grew to %d scalers, %d placeholders", len(c.scalers), len(c.places))
	}
}

// TestRecomposeMatchesAFreshCanvas: one compositor composing a run of
// layouts and tile counts (cells that cover the canvas, then leave gaps,
// overlap, shrink to none) gives, every time, exactly the canvas a new
// compositor draws for the same input: nothing of an earlier frame's
// pictures survives in the background the cells no longer cover.
func TestRecomposeMatchesAFreshCanvas(t *testing.T) {
	pics := []*media.VideoFrame{
		newFrame(t, 640, 360, 0, red), newFrame(t, 640, 360, 0, green),
		newFrame(t, 640, 480, 0, blue), newFrame(t, 320, 180, 0, white),
	}
	tiles := func(n int) []Tile {
		ts := make([]Tile, n)
		for i := range ts {
			ts[i].Frame = pics[i%len(pics)]
		}
		ts[n-1].Frame = nil // a placeholder among the pictures
		ts[n-1].Label = "late"
		return ts
	}
	pip := &Custom{Regions: []NormRegion{
		{X: 0.7, Y: 0.7, W: 0.25, H: 0.25, Z: 2},
		{X: 0.1, Y: 0.1, W: 0.6, H: 0.6, Z: 1},
	}}
	steps := []struct {
		name   string
		layout Layout
		tiles  []Tile
	}{
		{"grid of 4, covering", Grid(), tiles(4)},
		{"grid of 4 again", Grid(), tiles(4)},
		{"speaker with 3: gaps in the strip", Speaker(), tiles(3)},
		{"grid of 4 after the gaps", Grid(), tiles(4)},
		{"overlapping custom regions", pip, tiles(2)},
		{"grid of 3: an empty cell", Grid(), tiles(3)},
		{"nobody", Grid(), nil},
		{"grid of 4 once more", Grid(), tiles(4)},
	}
	c := mustNew(t, 1280, 720)
	for _, s := range steps {
		got, err := c.Compose(s.layout, s.tiles)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		want, err := mustNew(t, 1280, 720).Compose(s.layout, s.tiles)
		if err != nil {
			t.Fatalf("%s, fresh: %v", s.name, err)
		}
		for y := range want.Height {
			for x := range want.Width {
				gy, gu, gv := got.At(x, y)
				wy, wu, wv := want.At(x, y)
				if gy != wy || gu != wu || gv != wv {
					t.Fatalf("%s: pixel (%d,%d) is %d,%d,%d, a fresh canvas has %d,%d,%d", s.name, x, y, gy, gu, gv, wy, wu, wv)
				}
			}
		}
	}
}
