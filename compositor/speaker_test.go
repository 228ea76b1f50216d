package compositor

import (
	"errors"
	"fmt"
	"testing"
)

var layoutTestCanvases = [][2]int{
	{1280, 720}, {640, 360}, {1920, 1080}, {642, 362}, {16, 16}, {18, 22},
	{30, 16}, {4096, 2160}, {720, 1280}, {640, 480}, {4096, 16}, {16, 4096},
}

// checkCommonRegions checks what every built-in layout promises: n
// regions, each even-aligned, at least 2×2 and inside the canvas.
func checkCommonRegions(t *testing.T, regs []Region, W, H, n int) {
	t.Helper()
	if len(regs) != n {
		t.Fatalf("%d regions, want %d", len(regs), n)
	}
	for i, r := range regs {
		if !r.Rect.Even() {
			t.Errorf("region %d %v not even-aligned", i, r.Rect)
		}
		if !r.Rect.Within(W, H) || r.Rect.W < 2 || r.Rect.H < 2 {
			t.Errorf("region %d %v empty or outside %s", i, r.Rect, size(W, H))
		}
		if r.Fit != FitContain {
			t.Errorf("region %d fit %v, want contain", i, r.Fit)
		}
	}
}

// TestSpeakerRegions checks the speaker layout's invariants for n = 1..16
// on many canvases.
func TestSpeakerRegions(t *testing.T) {
	for _, cs := range layoutTestCanvases {
		W, H := cs[0], cs[1]
		for n := 1; n <= MaxGridTiles; n++ {
			t.Run(fmt.Sprintf("%s/n=%d", size(W, H), n), func(t *testing.T) {
				regs, err := Regions(Speaker(), W, H, n)
				if n >= 2 && W < 2*(n-1) { // no 2 px per strip cell
					if !errors.Is(err, ErrTooManyTiles) {
						t.Fatalf("%d tiles on %s: %v, want ErrTooManyTiles", n, size(W, H), err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				checkCommonRegions(t, regs, W, H, n)
				for i, r := range regs {
					if r.Z != 0 {
						t.Errorf("region %d z %d", i, r.Z)
					}
					for j := range i {
						if r.Rect.Overlaps(regs[j].Rect) {
							t.Errorf("regions %d %v and %d %v overlap", j, regs[j].Rect, i, r.Rect)
						}
					}
				}
				sp := regs[0].Rect
				if n == 1 {
					if sp != (Rect{0, 0, W, H}) {
						t.Fatalf("single tile %v, want the full canvas", sp)
					}
					return
				}
				stripH := max(floorEven(H/5), 2)
				if sp != (Rect{0, 0, W, H - stripH}) {
					t.Errorf("speaker %v, want %v", sp, Rect{0, 0, W, H - stripH})
				}
				m := n - 1
				cellW := floorEven(min(W/m, stripH*16/9))
				first, last := regs[1].Rect, regs[n-1].Rect
				for i, r := range regs[1:] {
					c := r.Rect
					if c.Y != H-stripH || c.H != stripH || c.W != cellW {
						t.Errorf("strip cell %d %v, want %dx%d at y %d", i+1, c, cellW, stripH, H-stripH)
					}
					if i > 0 && c.X != regs[i].Rect.X+cellW {
						t.Errorf("strip cell %d %v does not follow %v", i+1, c, regs[i].Rect)
					}
					if sp.W*sp.H <= c.W*c.H {
						t.Errorf("speaker %v not larger than strip cell %d %v", sp, i+1, c)
					}
					// 16:9 or narrower.
					if c.W*9 > c.H*16 {
						t.Errorf("strip cell %d %v wider than 16:9", i+1, c)
					}
				}
				// Centred: the gaps either side differ by at most 2 px.
				l, r := first.X, W-last.X-last.W
				if l-r > 2 || r-l > 2 {
					t.Errorf("strip %d..%d not centred on width %d", first.X, last.X+last.W, W)
				}
			})
		}
	}
}

func TestSpeakerExamples(t *testing.T) {
	rect := func(x, y, w, h int) Rect { return Rect{x, y, w, h} }
	strip := func(x0, y, w, h, k int) []Rect {
		var rs []Rect
		for i := range k {
			rs = append(rs, rect(x0+i*w, y, w, h))
		}
		return rs
	}
	tests := []struct {
		name string
		w, h int
		n    int
		want []Rect
	}{
		{"1 full", 1280, 720, 1, []Rect{rect(0, 0, 1280, 720)}},
		{"2 one centred", 1280, 720, 2, []Rect{rect(0, 0, 1280, 576), rect(512, 576, 256, 144)}},
		{"3 two centred", 1280, 720, 3, append([]Rect{rect(0, 0, 1280, 576)}, strip(384, 576, 256, 144, 2)...)},
		{"6 five fill", 1280, 720, 6, append([]Rect{rect(0, 0, 1280, 576)}, strip(0, 576, 256, 144, 5)...)},
		{"7 six narrower", 1280, 720, 7, append([]Rect{rect(0, 0, 1280, 576)}, strip(4, 576, 212, 144, 6)...)},
		{"16 fifteen", 1280, 720, 16, append([]Rect{rect(0, 0, 1280, 576)}, strip(10, 576, 84, 144, 15)...)},
		{"4 at 1080p", 1920, 1080, 4, append([]Rect{rect(0, 0, 1920, 864)}, strip(384, 864, 384, 216, 3)...)},
		{"3 at 640x360", 640, 360, 3, append([]Rect{rect(0, 0, 640, 288)}, strip(192, 288, 128, 72, 2)...)},
		{"16 at 30x16", 30, 16, 16, append([]Rect{rect(0, 0, 30, 14)}, strip(0, 14, 2, 2, 15)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs, err := Regions(Speaker(), tt.w, tt.h, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(regs) != len(tt.want) {
				t.Fatalf("%d regions, want %d", len(regs), len(tt.want))
			}
			for i, r := range regs {
				if r.Rect != tt.want[i] || r.Z != 0 || r.Fit != FitContain {
					t.Errorf("region %d = %+v, want %v z 0 contain", i, r, tt.want[i])
				}
			}
		})
	}
}

func TestPIPRegions(t *testing.T) {
	for _, cs := range layoutTestCanvases {
		W, H := cs[0], cs[1]
		for n := 1; n <= PIPMaxTiles; n++ {
			t.Run(fmt.Sprintf("%s/n=%d", size(W, H), n), func(t *testing.T) {
				regs, err := Regions(PIP(), W, H, n)
				if err != nil {
					t.Fatal(err)
				}
				checkCommonRegions(t, regs, W, H, n)
				main := regs[0]
				if main.Rect != (Rect{0, 0, W, H}) || main.Z != 0 {
					t.Errorf("main %+v, want the full canvas at z 0", main)
				}
				if n == 1 {
					return
				}
				in := regs[1]
				m := in.Rect
				if m.X < main.Rect.X || m.Y < main.Rect.Y || m.X+m.W > main.Rect.X+main.Rect.W || m.Y+m.H > main.Rect.Y+main.Rect.H {
					t.Errorf("inset %v not inside main %v", m, main.Rect)
				}
				if in.Z <= main.Z {
					t.Errorf("inset z %d not above main z %d", in.Z, main.Z)
				}
				if m.W != max(floorEven(W/4), 2) || m.H != max(floorEven(H/4), 2) {
					t.Errorf("inset %v, want a quarter of %s", m, size(W, H))
				}
				// Bottom-right, same margin on both sides.
				if mr, mb := W-m.X-m.W, H-m.Y-m.H; mr != mb || mr != floorEven(min(W, H)/40) {
					t.Errorf("inset %v margins right %d bottom %d", m, mr, mb)
				}
			})
		}
	}
}

func TestPIPExamples(t *testing.T) {
	tests := []struct {
		w, h  int
		inset Rect
	}{
		{1280, 720, Rect{942, 522, 320, 180}},
		{1920, 1080, Rect{1414, 784, 480, 270}},
		{640, 480, Rect{468, 348, 160, 120}},
		{16, 16, Rect{12, 12, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(size(tt.w, tt.h), func(t *testing.T) {
			regs, err := Regions(PIP(), tt.w, tt.h, 2)
			if err != nil {
				t.Fatal(err)
			}
			want := []Region{
				{Rect: Rect{0, 0, tt.w, tt.h}, Fit: FitContain},
				{Rect: tt.inset, Z: 1, Fit: FitContain},
			}
			for i := range want {
				if regs[i] != want[i] {
					t.Errorf("region %d = %+v, want %+v", i, regs[i], want[i])
				}
			}
		})
	}
}

// TestLayoutErrors: counts beyond capacity, empty rooms (as Grid: no
// regions, no error) and bad canvases.
func TestLayoutErrors(t *testing.T) {
	layouts := []struct {
		name string
		l    Layout
		max  int
	}{
		{"grid", Grid(), MaxGridTiles},
		{"speaker", Speaker(), MaxGridTiles},
		{"pip", PIP(), PIPMaxTiles},
	}
	for _, lt := range layouts {
		t.Run(lt.name, func(t *testing.T) {
			for _, n := range []int{lt.max + 1, lt.max + 5, 100} {
				if _, err := Regions(lt.l, 1280, 720, n); !errors.Is(err, ErrTooManyTiles) {
					t.Errorf("%d tiles: %v, want ErrTooManyTiles", n, err)
				}
			}
			if regs, err := Regions(lt.l, 1280, 720, lt.max); err != nil || len(regs) != lt.max {
				t.Errorf("%d tiles: %d regions, %v", lt.max, len(regs), err)
			}
			for _, n := range []int{0, -1} {
				if regs, err := Regions(lt.l, 1280, 720, n); err != nil || len(regs) != 0 {
					t.Errorf("%d tiles: %v, %v; want no regions, no error", n, regs, err)
				}
			}
			for _, sz := range [][2]int{{0, 0}, {1281, 720}, {14, 720}, {8192, 720}} {
				if _, err := Regions(lt.l, sz[0], sz[1], 1); !errors.Is(err, ErrInvalidSize) {
					t.Errorf("%dx%d: %v, want ErrInvalidSize", sz[0], sz[1], err)
				}
			}
			// AppendRegions appends to dst, leaving it alone on error.
			dst := []Region{{Z: 42}}
			out, err := lt.l.AppendRegions(dst, 640, 360, 1)
			if err != nil || len(out) != 2 || out[0].Z != 42 {
				t.Errorf("append: %+v, %v", out, err)
			}
			out, err = lt.l.AppendRegions(dst, 640, 360, lt.max+1)
			if err == nil || len(out) != 1 {
				t.Errorf("append on error: %+v, %v", out, err)
			}
			// Compose: an empty room is a black canvas; too many tiles
			// fail without a canvas.
			c := mustNew(t, 640, 360)
			cv, err := c.Compose(lt.l, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkColour(t, cv, 320, 180, black, 0, "empty room")
			if cv, err := c.Compose(lt.l, make([]Tile, lt.max+1)); !errors.Is(err, ErrTooManyTiles) || cv != nil {
				t.Errorf("Compose with %d tiles: %v, %v", lt.max+1, cv, err)
			}
		})
	}
	// Speaker on a canvas too narrow for the strip.
	if _, err := Regions(Speaker(), 16, 720, 10); !errors.Is(err, ErrTooManyTiles) {
		t.Errorf("speaker 10 tiles on 16 px: %v, want ErrTooManyTiles", err)
	}
	if regs, err := Regions(Speaker(), 16, 720, 9); err != nil || regs[8].Rect != (Rect{14, 576, 2, 144}) {
		t.Errorf("speaker 9 tiles on 16 px: %v, %v", regs, err)
	}
}

// TestSpeakerColours composes solid colours through the speaker layout:
// every tile's colour at its content centre, black bars around it.
func TestSpeakerColours(t *testing.T) {
	colours := []yuv{red, green, blue, white}
	for _, canvas := range [][2]int{{1280, 720}, {640, 480}} {
		W, H := canvas[0], canvas[1]
		c := mustNew(t, W, H)
		for _, src := range [][2]int{{640, 360}, {640, 480}, {175, 99}} {
			frames := make([]Tile, len(colours))
			for i, col := range colours {
				frames[i] = Tile{Frame: newFrame(t, src[0], src[1], i*4, col)}
			}
			for _, n := range []int{1, 2, 5, 16} {
				t.Run(fmt.Sprintf("%s/src=%s/n=%d", size(W, H), size(src[0], src[1]), n), func(t *testing.T) {
					tiles := make([]Tile, n)
					for i := range tiles {
						tiles[i] = frames[i%len(colours)]
					}
					out, err := c.Compose(Speaker(), tiles)
					if err != nil {
						t.Fatal(err)
					}
					regs, _ := Regions(Speaker(), W, H, n)
					for i, r := range regs {
						col := colours[i%len(colours)]
						dst, _ := ContentRect(r.Rect, src[0], src[1], FitContain)
						what := fmt.Sprintf("tile %d (%s) in %v content %v", i, col.name, r.Rect, dst)
						checkColour(t, out, dst.X+dst.W/2, dst.Y+dst.H/2, col, 2, what)
						if dst.Y > r.Rect.Y {
							checkColour(t, out, dst.X+dst.W/2, r.Rect.Y, black, 0, what+" top bar")
						}
						if dst.X > r.Rect.X {
							checkColour(t, out, r.Rect.X, dst.Y+dst.H/2, black, 0, what+" left bar")
						}
					}
					// Outside the centred strip cells the strip is black.
					if first := regs[min(1, n-1)].Rect; n > 1 && first.X > 0 {
						checkColour(t, out, first.X-1, H-2, black, 0, "strip margin")
					}
					if n == 5 && src == [2]int{640, 360} {
						dumpPNG(t, out, "speaker5_"+size(W, H))
					}
				})
			}
		}
	}
}

// TestPIPColours: the inset's colour at its centre, the main tile's
// everywhere else, the inset's bars black over the main picture.
func TestPIPColours(t *testing.T) {
	c := mustNew(t, 1280, 720)
	main := newFrame(t, 1280, 720, 0, green)
	inset := newFrame(t, 640, 360, 8, red)
	inset43 := newFrame(t, 640, 480, 0, blue)

	out, err := c.Compose(PIP(), []Tile{{Frame: main}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{0, 0}, {640, 360}, {1100, 600}, {1279, 719}} {
		checkColour(t, out, p[0], p[1], green, 2, "single main")
	}

	out, err = c.Compose(PIP(), []Tile{{Frame: main}, {Frame: inset}})
	if err != nil {
		t.Fatal(err)
	}
	r := Rect{942, 522, 320, 180}
	checkColour(t, out, r.X+r.W/2, r.Y+r.H/2, red, 2, "inset centre")
	checkColour(t, out, r.X, r.Y, red, 2, "inset top-left")
	checkColour(t, out, r.X+r.W-1, r.Y+r.H-1, red, 2, "inset bottom-right")
	for _, p := range [][2]int{{0, 0}, {640, 360}, {r.X - 2, r.Y + 90}, {r.X + 160, r.Y - 2}, {1279, 719}, {r.X + r.W + 2, r.Y + 90}, {r.X + 160, r.Y + r.H + 2}} {
		checkColour(t, out, p[0], p[1], green, 2, "main")
	}
	dumpPNG(t, out, "pip_layout")

	// A 4:3 inset is pillarboxed: its bars are black over the main tile.
	out, err = c.Compose(PIP(), []Tile{{Frame: main}, {Frame: inset43}})
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := ContentRect(r, 640, 480, FitContain)
	checkColour(t, out, dst.X+dst.W/2, dst.Y+dst.H/2, blue, 2, "4:3 inset centre")
	checkColour(t, out, r.X, r.Y+90, black, 0, "inset left bar")
	checkColour(t, out, r.X+r.W-1, r.Y+90, black, 0, "inset right bar")
	checkColour(t, out, r.X-2, r.Y+90, green, 2, "main left of the inset")

	// Placeholders: the inset's placeholder covers the main picture.
	out, err = c.Compose(PIP(), []Tile{{Frame: main}, {Label: "Bob"}})
	if err != nil {
		t.Fatal(err)
	}
	checkColour(t, out, r.X+1, r.Y+1, yuv{"placeholder", PlaceholderY, NeutralUV, NeutralUV}, 0, "inset placeholder")
	checkColour(t, out, 100, 100, green, 2, "main with placeholder inset")
}
