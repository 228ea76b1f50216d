package compositor

import (
	"fmt"
	"math"
)

// MaxGridTiles is the most tiles Grid lays out. With more participants the
// caller picks the 16 to show (for example the most recent speakers).
const MaxGridTiles = 16

// Layout turns a canvas size and a tile count into geometry: one Region per
// tile, in tile order. Layouts are data: they compute rectangles and never
// touch pixels, so new layouts plug in without changing the compositor.
// Built in: Grid, Speaker (tile 0 large, the others in a strip), PIP (tile
// 1 inset over tile 0) and Custom (explicit normalised regions).
//
// AppendRegions appends exactly n regions to dst (normally dst[:0] of a
// reused slice, which keeps Compose free of allocations) and returns the
// extended slice, or an error wrapping ErrTooManyTiles when the layout has
// no room for n tiles, or ErrBadRegion when it is misconfigured. Regions
// must be even-aligned, non-empty and inside the canvas; Compose checks.
// canvasW and canvasH are even and in [MinCanvasDim, MaxCanvasDim] (the
// built-in layouts fail with ErrInvalidSize otherwise).
type Layout interface {
	AppendRegions(dst []Region, canvasW, canvasH, n int) ([]Region, error)
}

// Regions is a convenience wrapper that returns l's regions in a new slice.
func Regions(l Layout, canvasW, canvasH, n int) ([]Region, error) {
	if l == nil {
		return nil, ErrNoLayout
	}
	return l.AppendRegions(make([]Region, 0, max(n, 0)), canvasW, canvasH, n)
}

// GridLayout is the default layout: tiles in join order on a grid,
// 1 → full canvas, 2 → side by side (2×1), 3–4 → 2×2, 5–6 → 3×2,
// 7–9 → 3×3, 10–16 → 4×4; more than 16 is an error wrapping
// ErrTooManyTiles.
//
// Cells fill row-major, left to right, top to bottom. Column and row edges
// are at floorEven(k·W/cols) and floorEven(k·H/rows), so cells are
// even-aligned, touch without gaps or overlap, and differ in size by at most
// 2 px. An incomplete last row is centred horizontally (its cells keep the
// full-row cell size; the black strips either side are background), and
// when whole rows are empty (10–12 tiles on 4×4) the used rows are centred
// vertically. Every region has Z 0 and FitContain.
type GridLayout struct{}

// Grid returns the grid layout.
func Grid() Layout { return GridLayout{} }

// GridShape returns the columns and rows Grid uses for n tiles
// (0, 0 for n ≤ 0) or an error wrapping ErrTooManyTiles for n > 16.
func GridShape(n int) (cols, rows int, err error) {
	switch {
	case n <= 0:
		return 0, 0, nil
	case n == 1:
		return 1, 1, nil
	case n == 2:
		return 2, 1, nil
	case n <= 4:
		return 2, 2, nil
	case n <= 6:
		return 3, 2, nil
	case n <= 9:
		return 3, 3, nil
	case n <= MaxGridTiles:
		return 4, 4, nil
	}
	return 0, 0, fmt.Errorf("%w: grid holds at most %d, got %d", ErrTooManyTiles, MaxGridTiles, n)
}

// AppendRegions implements Layout.
func (GridLayout) AppendRegions(dst []Region, canvasW, canvasH, n int) ([]Region, error) {
	if err := checkCanvas(canvasW, canvasH); err != nil {
		return dst, err
	}
	cols, rows, err := GridShape(n)
	if err != nil {
		return dst, err
	}
	if n <= 0 {
		return dst, nil
	}
	usedRows := (n + cols - 1) / cols
	// Positions are computed in half-cell units so that centring an
	// incomplete row (or the block of used rows) by half a cell stays on
	// the same even-rounded edges as full rows.
	vOff := rows - usedRows
	for i := range n {
		row, col := i/cols, i%cols
		inRow := cols
		if row == usedRows-1 {
			inRow = n - row*cols
		}
		u0 := 2*col + (cols - inRow)
		v0 := 2*row + vOff
		x0 := floorEven(u0 * canvasW / (2 * cols))
		x1 := floorEven((u0 + 2) * canvasW / (2 * cols))
		y0 := floorEven(v0 * canvasH / (2 * rows))
		y1 := floorEven((v0 + 2) * canvasH / (2 * rows))
		dst = append(dst, Region{Rect: Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}, Fit: FitContain})
	}
	return dst, nil
}

// checkCanvas validates a canvas size as New does.
func checkCanvas(w, h int) error {
	if w < MinCanvasDim || h < MinCanvasDim || w > MaxCanvasDim || h > MaxCanvasDim || w&1 != 0 || h&1 != 0 {
		return fmt.Errorf("%w: %dx%d (need even, %d..%d)", ErrInvalidSize, w, h, MinCanvasDim, MaxCanvasDim)
	}
	return nil
}

// NormRegion is a region in normalised canvas coordinates: X, Y, W, H in
// [0, 1] as fractions of the canvas width and height.
type NormRegion struct {
	X, Y, W, H float64
	Z          int
	Fit        Fit
}

// Custom is a layout of explicit normalised regions: tile i goes into
// Regions[i]. It covers picture-in-picture (a small region with a higher Z
// over a full-canvas one), speaker layouts and anything a layout service
// sends. Edges are rounded to the nearest even pixel; a region that would
// round to less than 2 px is widened to 2 px. With fewer tiles than regions
// the first n regions are used; with more, AppendRegions fails with
// ErrTooManyTiles. Use it as a pointer (&Custom{...}) so passing it as a
// Layout does not allocate.
type Custom struct {
	Regions []NormRegion
}

// Validate checks every region: finite, non-negative, non-empty and inside
// the unit square (with 1e-9 slack for rounding).
func (l *Custom) Validate() error {
	const eps = 1e-9
	for i, r := range l.Regions {
		for _, v := range [...]float64{r.X, r.Y, r.W, r.H} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: region %d has a non-finite value", ErrBadRegion, i)
			}
		}
		if r.X < -eps || r.Y < -eps || r.W <= 0 || r.H <= 0 || r.X+r.W > 1+eps || r.Y+r.H > 1+eps {
			return fmt.Errorf("%w: region %d (%g,%g %gx%g) outside the unit square or empty",
				ErrBadRegion, i, r.X, r.Y, r.W, r.H)
		}
		if r.Fit > FitCover {
			return fmt.Errorf("%w: region %d has unknown fit %d", ErrBadRegion, i, r.Fit)
		}
	}
	return nil
}

// AppendRegions implements Layout.
func (l *Custom) AppendRegions(dst []Region, canvasW, canvasH, n int) ([]Region, error) {
	if l == nil {
		return dst, ErrNoLayout
	}
	if err := checkCanvas(canvasW, canvasH); err != nil {
		return dst, err
	}
	if n > len(l.Regions) {
		return dst, fmt.Errorf("%w: custom layout has %d regions, got %d tiles", ErrTooManyTiles, len(l.Regions), n)
	}
	if err := l.Validate(); err != nil {
		return dst, err
	}
	for i := range max(n, 0) {
		r := l.Regions[i]
		x0, x1 := normSpan(r.X, r.W, canvasW)
		y0, y1 := normSpan(r.Y, r.H, canvasH)
		dst = append(dst, Region{Rect: Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}, Z: r.Z, Fit: r.Fit})
	}
	return dst, nil
}

// normSpan maps [pos, pos+size] (normalised) onto even pixel edges in
// [0, total], at least 2 px apart.
func normSpan(pos, size float64, total int) (int, int) {
	a := min(max(2*int(math.Round(pos*float64(total)/2)), 0), total)
	b := min(max(2*int(math.Round((pos+size)*float64(total)/2)), 0), total)
	if b-a < 2 {
		b = a + 2
		if b > total {
			a, b = total-2, total
		}
	}
	return a, b
}
