package compositor

import "fmt"

// Rect is an axis-aligned rectangle in pixels: X, Y is its top-left corner,
// W, H its size. Rectangles handed to or produced by the compositor for the
// canvas are even-aligned (X, Y, W, H all even) so that the 2×2-subsampled
// I420 chroma planes map onto them exactly.
type Rect struct{ X, Y, W, H int }

// Empty reports whether r has no area.
func (r Rect) Empty() bool { return r.W <= 0 || r.H <= 0 }

// Even reports whether X, Y, W and H are all even.
func (r Rect) Even() bool { return (r.X|r.Y|r.W|r.H)&1 == 0 }

// Overlaps reports whether r and o share at least one pixel.
func (r Rect) Overlaps(o Rect) bool {
	if r.Empty() || o.Empty() {
		return false
	}
	return r.X < o.X+o.W && o.X < r.X+r.W && r.Y < o.Y+o.H && o.Y < r.Y+r.H
}

// Within reports whether r lies entirely inside a w×h canvas.
func (r Rect) Within(w, h int) bool {
	return r.X >= 0 && r.Y >= 0 && r.W >= 0 && r.H >= 0 && r.X+r.W <= w && r.Y+r.H <= h
}

func (r Rect) String() string { return fmt.Sprintf("%dx%d+%d+%d", r.W, r.H, r.X, r.Y) }

// Fit says how a source picture fills its region.
type Fit uint8

const (
	// FitUnknown is the zero value; the compositor treats it as FitContain.
	FitUnknown Fit = iota
	// FitContain scales the whole picture into the region keeping its
	// aspect ratio; the uncovered part of the region is black
	// (letterbox / pillarbox bars).
	FitContain
	// FitCover scales the picture to cover the whole region keeping its
	// aspect ratio and crops the overflow, centred.
	FitCover
)

func (f Fit) String() string {
	switch f {
	case FitUnknown:
		return "unknown"
	case FitContain:
		return "contain"
	case FitCover:
		return "cover"
	}
	return fmt.Sprintf("Fit(%d)", uint8(f))
}

// Region is one slot of a layout: where tile i goes on the canvas, its
// stacking order and how its picture fills it.
type Region struct {
	// Rect is the slot in canvas pixels, even-aligned.
	Rect Rect
	// Z orders drawing: lower Z is drawn first (further back); equal Z
	// draw in tile order.
	Z int
	// Fit is how the picture fills Rect; FitUnknown means FitContain.
	Fit Fit
}

// ContentRect computes where a srcW×srcH picture goes inside cell and which
// part of the picture is shown, keeping the aspect ratio:
//
//   - FitContain (and FitUnknown): dst is the largest rectangle of the
//     source's aspect ratio inside cell, centred; srcCrop is the whole
//     source. The rest of cell is the black bars.
//   - FitCover: dst is cell; srcCrop is the largest centred part of the
//     source with cell's aspect ratio.
//
// dst is even-aligned whenever cell is (its size is rounded to the nearest
// even number, so the aspect error is at most one pixel), at least 2×2
// when cell is, and never outside cell. srcCrop has even X and Y; its W and
// H are even unless they equal an odd source dimension. Non-positive sizes
// yield zero rectangles.
func ContentRect(cell Rect, srcW, srcH int, fit Fit) (dst, srcCrop Rect) {
	if cell.W <= 0 || cell.H <= 0 || srcW <= 0 || srcH <= 0 {
		return Rect{}, Rect{}
	}
	cw, ch := int64(cell.W), int64(cell.H)
	sw, sh := int64(srcW), int64(srcH)
	if fit == FitCover {
		srcCrop = Rect{W: srcW, H: srcH}
		switch {
		case sw*ch > sh*cw: // source wider than cell: crop the sides
			w := int(roundEvenDiv(sh*cw, ch))
			w = clampSize(w, srcW)
			srcCrop.W = w
			srcCrop.X = ((srcW - w) / 2) &^ 1
		case sw*ch < sh*cw: // source taller: crop top and bottom
			h := int(roundEvenDiv(sw*ch, cw))
			h = clampSize(h, srcH)
			srcCrop.H = h
			srcCrop.Y = ((srcH - h) / 2) &^ 1
		}
		return cell, srcCrop
	}
	dst = cell
	switch {
	case sw*ch > sh*cw: // source wider: full width, bars top and bottom
		dst.H = clampSize(int(roundEvenDiv(cw*sh, sw)), cell.H)
	case sw*ch < sh*cw: // source taller: full height, bars left and right
		dst.W = clampSize(int(roundEvenDiv(ch*sw, sh)), cell.W)
	}
	dst.X += ((cell.W - dst.W) / 2) &^ 1
	dst.Y += ((cell.H - dst.H) / 2) &^ 1
	return dst, Rect{W: srcW, H: srcH}
}

// roundEvenDiv returns num/den rounded to the nearest even integer.
func roundEvenDiv(num, den int64) int64 {
	return 2 * ((num + den) / (2 * den))
}

// clampSize keeps an even-rounded size within [min(2, limit), limit].
func clampSize(v, limit int) int {
	if v > limit {
		v = limit
	}
	if v < 2 {
		v = min(2, limit)
	}
	return v
}

// floorEven rounds v down to an even number (v ≥ 0).
func floorEven(v int) int { return v &^ 1 }
