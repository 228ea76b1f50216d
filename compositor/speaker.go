package compositor

import "fmt"

// SpeakerLayout features tile 0 (the caller puts the active speaker first)
// and shows the others in a strip along the bottom:
//
//   - n ≤ 0: no regions (an empty room composes to a black canvas), as Grid.
//   - n = 1: tile 0 fills the canvas.
//   - n ≥ 2: the strip height is S = floorEven(H/5) (at least 2 px, since
//     H ≥ MinCanvasDim); tile 0 gets the rest, Rect{0, 0, W, H−S}. Tiles
//     1..n−1 share the strip (y = H−S, height S) left to right in tile
//     order, in equal cells of width
//     cw = floorEven(min(W/(n−1), S·16/9)) (integer divisions), so a cell
//     is at most 16:9 and the cells never overflow the canvas. The row of
//     cells touches without gaps and is centred horizontally: it starts at
//     x = floorEven((W − (n−1)·cw)/2).
//   - n > MaxGridTiles (16: the speaker plus 15 in the strip) is an error
//     wrapping ErrTooManyTiles, as is a canvas too narrow to give every
//     strip cell 2 px (W < 2·(n−1), only possible below 30 px wide).
//
// Every region has Z 0 and FitContain (letterboxed, nothing cropped). The
// speaker region is always larger than a strip cell (it is as wide as the
// canvas and at least 4H/5 tall), and no two regions overlap. On a
// 1280×720 canvas the speaker gets 1280×576 and the strip cells are
// 256×144 for up to 5 others (centred), narrower beyond (15 others: 84×144
// each, the row starting at x = 10).
type SpeakerLayout struct{}

// Speaker returns the active-speaker layout (see SpeakerLayout).
func Speaker() Layout { return SpeakerLayout{} }

// speakerStrip returns the strip height, the strip cell width and the x of
// the first cell for n ≥ 2 tiles on a W×H canvas (already checked).
func speakerStrip(W, H, n int) (stripH, cellW, x0 int) {
	m := n - 1
	stripH = max(floorEven(H/5), 2)
	cellW = floorEven(min(W/m, stripH*16/9))
	x0 = floorEven((W - m*cellW) / 2)
	return stripH, cellW, x0
}

// AppendRegions implements Layout.
func (SpeakerLayout) AppendRegions(dst []Region, canvasW, canvasH, n int) ([]Region, error) {
	if dst, done, err := oneLargeAndStrip(dst, "speaker", canvasW, canvasH, canvasW, n); done {
		return dst, err
	}
	stripH, cellW, x0 := speakerStrip(canvasW, canvasH, n)
	y := canvasH - stripH
	dst = append(dst, Region{Rect: Rect{W: canvasW, H: y}, Fit: FitContain})
	for i := range n - 1 {
		dst = append(dst, Region{Rect: Rect{X: x0 + i*cellW, Y: y, W: cellW, H: stripH}, Fit: FitContain})
	}
	return dst, nil
}

// PIPLayout is picture-in-picture: tile 0 fills the canvas and tile 1 is an
// inset over its bottom-right corner.
//
//   - n ≤ 0: no regions (black canvas), as Grid.
//   - n = 1: tile 0 fills the canvas, Z 0.
//   - n = 2: tile 0 as for n = 1; tile 1 gets Rect{W−m−iw, H−m−ih, iw, ih}
//     with Z 1 (drawn over tile 0), where iw = floorEven(W/4) and
//     ih = floorEven(H/4) (a quarter of each dimension, so the inset has
//     the canvas's aspect ratio; at least 2 px) and the margin
//     m = floorEven(min(W, H)/40) (18 px on 1280×720, giving
//     Rect{942, 522, 320, 180}; 0 on tiny canvases). The inset lies wholly
//     inside tile 0's region.
//   - n > 2 is an error wrapping ErrTooManyTiles (a Layout must return one
//     region per tile, so PIP cannot silently drop tiles: pass tiles[:2]
//     to show only the first two).
//
// Both regions are FitContain: a picture whose aspect differs from the
// canvas gets black bars, and the inset's bars are drawn over tile 0.
type PIPLayout struct{}

// PIP returns the picture-in-picture layout (see PIPLayout).
func PIP() Layout { return PIPLayout{} }

// PIPMaxTiles is the number of tiles PIPLayout takes.
const PIPMaxTiles = 2

// AppendRegions implements Layout.
func (PIPLayout) AppendRegions(dst []Region, canvasW, canvasH, n int) ([]Region, error) {
	if err := checkCanvas(canvasW, canvasH); err != nil {
		return dst, err
	}
	if n > PIPMaxTiles {
		return dst, fmt.Errorf("%w: picture-in-picture holds at most %d, got %d", ErrTooManyTiles, PIPMaxTiles, n)
	}
	if n <= 0 {
		return dst, nil
	}
	dst = append(dst, Region{Rect: Rect{W: canvasW, H: canvasH}, Fit: FitContain})
	if n == 2 {
		iw := max(floorEven(canvasW/4), 2)
		ih := max(floorEven(canvasH/4), 2)
		m := floorEven(min(canvasW, canvasH) / 40)
		dst = append(dst, Region{
			Rect: Rect{X: canvasW - m - iw, Y: canvasH - m - ih, W: iw, H: ih},
			Z:    1,
			Fit:  FitContain,
		})
	}
	return dst, nil
}

// oneLargeAndStrip checks a layout of one large region and the others in a
// strip (speaker, presentation) and handles the cases that need no strip:
// done is true when dst (nothing, or the one full-canvas region) or err is
// the answer. span is the canvas side the strip runs along: each of its
// cells needs at least 2 pixels of it.
func oneLargeAndStrip(dst []Region, name string, canvasW, canvasH, span, n int) (_ []Region, done bool, _ error) {
	if err := checkCanvas(canvasW, canvasH); err != nil {
		return dst, true, err
	}
	switch {
	case n <= 0:
		return dst, true, nil
	case n > MaxGridTiles:
		return dst, true, fmt.Errorf("%w: %s layout holds at most %d, got %d", ErrTooManyTiles, name, MaxGridTiles, n)
	case n == 1:
		return append(dst, Region{Rect: Rect{W: canvasW, H: canvasH}, Fit: FitContain}), true, nil
	case span < 2*(n-1):
		return dst, true, fmt.Errorf("%w: a %dx%d canvas is too small for %d tiles in the %s layout's strip",
			ErrTooManyTiles, canvasW, canvasH, n-1, name)
	}
	return dst, false, nil
}
