package compositor

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestGridShape(t *testing.T) {
	tests := []struct {
		n, cols, rows int
	}{
		{0, 0, 0}, {1, 1, 1}, {2, 2, 1}, {3, 2, 2}, {4, 2, 2}, {5, 3, 2}, {6, 3, 2},
		{7, 3, 3}, {8, 3, 3}, {9, 3, 3}, {10, 4, 4}, {12, 4, 4}, {13, 4, 4}, {16, 4, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			c, r, err := GridShape(tt.n)
			if err != nil || c != tt.cols || r != tt.rows {
				t.Fatalf("GridShape(%d) = %d, %d, %v; want %d, %d", tt.n, c, r, err, tt.cols, tt.rows)
			}
		})
	}
	for _, n := range []int{17, 25, 100} {
		if _, _, err := GridShape(n); !errors.Is(err, ErrTooManyTiles) {
			t.Errorf("GridShape(%d) error %v, want ErrTooManyTiles", n, err)
		}
	}
}

// TestGridRegions checks the invariants of every grid on several canvases.
func TestGridRegions(t *testing.T) {
	canvases := [][2]int{{1280, 720}, {640, 360}, {1920, 1080}, {642, 362}, {16, 16}, {18, 22}, {4096, 2160}}
	for _, cs := range canvases {
		W, H := cs[0], cs[1]
		for n := 1; n <= MaxGridTiles; n++ {
			t.Run(fmt.Sprintf("%s/n=%d", size(W, H), n), func(t *testing.T) {
				regs, err := Regions(Grid(), W, H, n)
				if err != nil {
					t.Fatal(err)
				}
				if len(regs) != n {
					t.Fatalf("%d regions, want %d", len(regs), n)
				}
				cols, rows, _ := GridShape(n)
				area := 0
				for i, r := range regs {
					if !r.Rect.Even() {
						t.Errorf("region %d %v not even-aligned", i, r.Rect)
					}
					if !r.Rect.Within(W, H) || r.Rect.W < 2 || r.Rect.H < 2 {
						t.Errorf("region %d %v empty or outside %s", i, r.Rect, size(W, H))
					}
					// Cell sizes within 2 px of the nominal W/cols × H/rows.
					if d := r.Rect.W - W/cols; d < -2 || d > 2 {
						t.Errorf("region %d width %d, nominal %d", i, r.Rect.W, W/cols)
					}
					if d := r.Rect.H - H/rows; d < -2 || d > 2 {
						t.Errorf("region %d height %d, nominal %d", i, r.Rect.H, H/rows)
					}
					if r.Fit != FitContain || r.Z != 0 {
						t.Errorf("region %d fit %v z %d", i, r.Fit, r.Z)
					}
					area += r.Rect.W * r.Rect.H
					for j := range i {
						if r.Rect.Overlaps(regs[j].Rect) {
							t.Errorf("regions %d %v and %d %v overlap", j, regs[j].Rect, i, r.Rect)
						}
						// Row-major: earlier tiles are above, or on the
						// same row and to the left.
						p := regs[j].Rect
						if !(p.Y < r.Rect.Y || (p.Y == r.Rect.Y && p.X < r.Rect.X)) {
							t.Errorf("region %d %v not after region %d %v in row-major order", i, r.Rect, j, p)
						}
					}
				}
				if n == cols*rows && area != W*H {
					t.Errorf("full grid covers %d px, canvas %d", area, W*H)
				}
			})
		}
	}
}

func TestGridExamples(t *testing.T) {
	rect := func(x, y, w, h int) Rect { return Rect{x, y, w, h} }
	tests := []struct {
		name string
		w, h int
		n    int
		want []Rect
	}{
		{"1 full", 1280, 720, 1, []Rect{rect(0, 0, 1280, 720)}},
		{"2 side by side", 1280, 720, 2, []Rect{rect(0, 0, 640, 720), rect(640, 0, 640, 720)}},
		{"3 last row centred", 1280, 720, 3, []Rect{rect(0, 0, 640, 360), rect(640, 0, 640, 360), rect(320, 360, 640, 360)}},
		{"4 quad", 1280, 720, 4, []Rect{rect(0, 0, 640, 360), rect(640, 0, 640, 360), rect(0, 360, 640, 360), rect(640, 360, 640, 360)}},
		{"5 three by two", 1280, 720, 5, []Rect{
			rect(0, 0, 426, 360), rect(426, 0, 426, 360), rect(852, 0, 428, 360),
			rect(212, 360, 428, 360), rect(640, 360, 426, 360),
		}},
		{"7 three by three", 1280, 720, 7, []Rect{
			rect(0, 0, 426, 240), rect(426, 0, 426, 240), rect(852, 0, 428, 240),
			rect(0, 240, 426, 240), rect(426, 240, 426, 240), rect(852, 240, 428, 240),
			rect(426, 480, 426, 240),
		}},
		{"16 four by four", 1280, 720, 16, nil},
		{"10 rows centred vertically", 1280, 720, 10, []Rect{
			rect(0, 90, 320, 180), rect(320, 90, 320, 180), rect(640, 90, 320, 180), rect(960, 90, 320, 180),
			rect(0, 270, 320, 180), rect(320, 270, 320, 180), rect(640, 270, 320, 180), rect(960, 270, 320, 180),
			rect(320, 450, 320, 180), rect(640, 450, 320, 180),
		}},
		{"2 at 640x360", 640, 360, 2, []Rect{rect(0, 0, 320, 360), rect(320, 0, 320, 360)}},
		{"4 at 640x360", 640, 360, 4, []Rect{rect(0, 0, 320, 180), rect(320, 0, 320, 180), rect(0, 180, 320, 180), rect(320, 180, 320, 180)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs, err := Regions(Grid(), tt.w, tt.h, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil { // 4×4 of 320×180
				for i, r := range regs {
					if want := rect(i%4*320, i/4*180, 320, 180); r.Rect != want {
						t.Errorf("region %d = %v, want %v", i, r.Rect, want)
					}
				}
				return
			}
			if len(regs) != len(tt.want) {
				t.Fatalf("%d regions, want %d", len(regs), len(tt.want))
			}
			for i, r := range regs {
				if r.Rect != tt.want[i] {
					t.Errorf("region %d = %v, want %v", i, r.Rect, tt.want[i])
				}
			}
		})
	}
}

func TestGridErrors(t *testing.T) {
	if _, err := Regions(Grid(), 1280, 720, 17); !errors.Is(err, ErrTooManyTiles) {
		t.Errorf("17 tiles: %v, want ErrTooManyTiles", err)
	}
	if regs, err := Regions(Grid(), 1280, 720, 0); err != nil || len(regs) != 0 {
		t.Errorf("0 tiles: %v, %v", regs, err)
	}
	for _, sz := range [][2]int{{0, 0}, {1281, 720}, {14, 720}, {8192, 720}} {
		if _, err := Regions(Grid(), sz[0], sz[1], 1); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("grid on %dx%d: %v, want ErrInvalidSize", sz[0], sz[1], err)
		}
		if _, err := Regions(&Custom{Regions: []NormRegion{{W: 1, H: 1}}}, sz[0], sz[1], 1); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("custom on %dx%d: %v, want ErrInvalidSize", sz[0], sz[1], err)
		}
	}
	if _, err := Regions(nil, 1280, 720, 1); !errors.Is(err, ErrNoLayout) {
		t.Errorf("nil layout: %v", err)
	}
}

func TestContentRect(t *testing.T) {
	tests := []struct {
		name      string
		cell      Rect
		sw, sh    int
		fit       Fit
		dst, crop Rect
	}{
		{"4:3 in 16:9 pillarbox", Rect{0, 0, 640, 360}, 640, 480, FitContain, Rect{80, 0, 480, 360}, Rect{0, 0, 640, 480}},
		{"4:3 in 16:9 offset cell", Rect{640, 360, 640, 360}, 320, 240, FitContain, Rect{720, 360, 480, 360}, Rect{0, 0, 320, 240}},
		{"16:9 in 4:3 letterbox", Rect{0, 0, 640, 480}, 1280, 720, FitContain, Rect{0, 60, 640, 360}, Rect{0, 0, 1280, 720}},
		{"same aspect", Rect{0, 0, 640, 360}, 1280, 720, FitContain, Rect{0, 0, 640, 360}, Rect{0, 0, 1280, 720}},
		{"unknown is contain", Rect{0, 0, 640, 360}, 640, 480, FitUnknown, Rect{80, 0, 480, 360}, Rect{0, 0, 640, 480}},
		{"16:9 in 426x240", Rect{0, 0, 426, 240}, 640, 360, FitContain, Rect{0, 0, 426, 240}, Rect{0, 0, 640, 360}},
		{"QCIF in 320x180", Rect{0, 0, 320, 180}, 176, 144, FitContain, Rect{50, 0, 220, 180}, Rect{0, 0, 176, 144}},
		{"odd source", Rect{0, 0, 640, 360}, 175, 99, FitContain, Rect{2, 0, 636, 360}, Rect{0, 0, 175, 99}},
		{"portrait in landscape", Rect{0, 0, 1280, 720}, 360, 640, FitContain, Rect{436, 0, 406, 720}, Rect{0, 0, 360, 640}},
		{"cover 4:3 in 16:9 crops top/bottom", Rect{0, 0, 640, 360}, 640, 480, FitCover, Rect{0, 0, 640, 360}, Rect{0, 60, 640, 360}},
		{"cover 16:9 in 4:3 crops sides", Rect{0, 0, 640, 480}, 1280, 720, FitCover, Rect{0, 0, 640, 480}, Rect{160, 0, 960, 720}},
		{"cover same aspect", Rect{0, 0, 640, 360}, 1280, 720, FitCover, Rect{0, 0, 640, 360}, Rect{0, 0, 1280, 720}},
		{"tiny cell", Rect{2, 2, 2, 2}, 1280, 720, FitContain, Rect{2, 2, 2, 2}, Rect{0, 0, 1280, 720}},
		{"zero source", Rect{0, 0, 640, 360}, 0, 720, FitContain, Rect{}, Rect{}},
		{"zero cell", Rect{0, 0, 0, 360}, 640, 360, FitContain, Rect{}, Rect{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, crop := ContentRect(tt.cell, tt.sw, tt.sh, tt.fit)
			if dst != tt.dst || crop != tt.crop {
				t.Fatalf("ContentRect = %v, %v; want %v, %v", dst, crop, tt.dst, tt.crop)
			}
			if dst.Empty() {
				return
			}
			if !dst.Even() {
				t.Errorf("dst %v not even", dst)
			}
			if dst.X < tt.cell.X || dst.Y < tt.cell.Y || dst.X+dst.W > tt.cell.X+tt.cell.W || dst.Y+dst.H > tt.cell.Y+tt.cell.H {
				t.Errorf("dst %v outside cell %v", dst, tt.cell)
			}
			// Centred within one pixel.
			if l, r := dst.X-tt.cell.X, tt.cell.X+tt.cell.W-dst.X-dst.W; l-r > 2 || r-l > 2 {
				t.Errorf("dst %v not centred horizontally in %v", dst, tt.cell)
			}
			if tp, bt := dst.Y-tt.cell.Y, tt.cell.Y+tt.cell.H-dst.Y-dst.H; tp-bt > 2 || bt-tp > 2 {
				t.Errorf("dst %v not centred vertically in %v", dst, tt.cell)
			}
		})
	}
}

// TestContentRectAspect sweeps sizes: the content keeps the source aspect
// ratio to within the even rounding.
func TestContentRectAspect(t *testing.T) {
	cells := []Rect{{0, 0, 1280, 720}, {0, 0, 426, 240}, {0, 0, 320, 180}, {0, 0, 640, 720}, {0, 0, 2, 2}}
	srcs := [][2]int{{640, 480}, {1280, 720}, {176, 144}, {720, 1280}, {1, 1}, {8192, 2}, {2, 8192}, {333, 777}}
	for _, cell := range cells {
		for _, s := range srcs {
			for _, fit := range []Fit{FitContain, FitCover} {
				t.Run(fmt.Sprintf("%v/%s/%v", cell, size(s[0], s[1]), fit), func(t *testing.T) {
					dst, crop := ContentRect(cell, s[0], s[1], fit)
					if !dst.Even() || dst.Empty() || !dst.Within(cell.X+cell.W, cell.Y+cell.H) {
						t.Fatalf("dst %v", dst)
					}
					if crop.Empty() || !crop.Within(s[0], s[1]) || crop.X&1 != 0 || crop.Y&1 != 0 {
						t.Fatalf("crop %v of %s", crop, size(s[0], s[1]))
					}
					// dst.W/dst.H ≈ crop.W/crop.H up to rounding one
					// dimension to an even number (±1 px); sizes clamped
					// to the 2 px minimum are exempt.
					m := min(dst.W, dst.H, crop.W, crop.H)
					if m <= 2 {
						return
					}
					a, b := float64(dst.W)/float64(dst.H), float64(crop.W)/float64(crop.H)
					if rel := math.Abs(a/b - 1); rel > 1/float64(m-1) {
						t.Errorf("aspect: dst %v (%.4f) crop %v (%.4f), off by %.4f", dst, a, crop, b, rel)
					}
				})
			}
		}
	}
}

func TestCustom(t *testing.T) {
	pip := &Custom{Regions: []NormRegion{
		{X: 0, Y: 0, W: 1, H: 1, Fit: FitCover},
		{X: 0.7, Y: 0.7, W: 0.25, H: 0.25, Z: 1},
	}}
	regs, err := Regions(pip, 1280, 720, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []Region{
		{Rect: Rect{0, 0, 1280, 720}, Fit: FitCover},
		{Rect: Rect{896, 504, 320, 180}, Z: 1},
	}
	for i := range want {
		if regs[i] != want[i] {
			t.Errorf("region %d = %+v, want %+v", i, regs[i], want[i])
		}
	}
	if regs, err := Regions(pip, 1280, 720, 1); err != nil || len(regs) != 1 {
		t.Errorf("fewer tiles: %v %v", regs, err)
	}
	if _, err := Regions(pip, 1280, 720, 3); !errors.Is(err, ErrTooManyTiles) {
		t.Errorf("3 tiles in 2 regions: %v", err)
	}
	bad := []NormRegion{
		{X: -0.1, Y: 0, W: 0.5, H: 0.5},
		{X: 0.6, Y: 0, W: 0.5, H: 0.5},
		{X: 0, Y: 0, W: 0, H: 0.5},
		{X: 0, Y: 0, W: 0.5, H: -1},
		{X: 0, Y: 0, W: nan(), H: 0.5},
		{X: 0, Y: 0, W: 0.5, H: 0.5, Fit: 7},
	}
	for i, r := range bad {
		t.Run(fmt.Sprint("bad", i), func(t *testing.T) {
			if _, err := Regions(&Custom{Regions: []NormRegion{r}}, 1280, 720, 1); !errors.Is(err, ErrBadRegion) {
				t.Errorf("%+v: %v, want ErrBadRegion", r, err)
			}
		})
	}
	// A sliver still gets 2 px and stays inside.
	regs, err = Regions(&Custom{Regions: []NormRegion{{X: 0.9999, Y: 0.9999, W: 0.0001, H: 0.0001}}}, 640, 360, 1)
	if err != nil || regs[0].Rect != (Rect{638, 358, 2, 2}) {
		t.Errorf("sliver: %v %v", regs, err)
	}
}

func nan() float64 { z := 0.0; return z / z }
