package compositor

// PresentationLayout shows tile 0 (the caller puts the shared screen
// first) as large as it can be and the others (the cameras) in a column on
// the right:
//
//   - n ≤ 0: no regions; n = 1: tile 0 fills the canvas.
//   - n ≥ 2: the column is C = floorEven(W/5) wide; tile 0 gets
//     Rect{0, 0, W−C, H}, kept whole (FitContain: a 16:9 screen on a
//     1280×720 canvas is drawn 1024×576, no pixel of it cropped). The
//     others share the column top to bottom in tile order, in cells C
//     wide and ch = floorEven(min(H/(n−1), C·9/16)) high (so a cell is at
//     most 16:9 tall), the column of cells centred vertically from
//     y = floorEven((H − (n−1)·ch)/2).
//   - n > MaxGridTiles, or a canvas too low to give every cell 2 px, is an
//     error wrapping ErrTooManyTiles.
//
// Every region has Z 0 and FitContain, and no two overlap.
type PresentationLayout struct{}

// Presentation returns the screen-share layout (see PresentationLayout).
func Presentation() Layout { return PresentationLayout{} }

// AppendRegions implements Layout.
func (PresentationLayout) AppendRegions(dst []Region, canvasW, canvasH, n int) ([]Region, error) {
	if dst, done, err := oneLargeAndStrip(dst, "presentation", canvasW, canvasH, canvasH, n); done {
		return dst, err
	}
	m := n - 1
	colW := max(floorEven(canvasW/5), 2)
	cellH := max(floorEven(min(canvasH/m, colW*9/16)), 2)
	y0 := floorEven((canvasH - m*cellH) / 2)
	x := canvasW - colW
	dst = append(dst, Region{Rect: Rect{W: x, H: canvasH}, Fit: FitContain})
	for i := range m {
		dst = append(dst, Region{Rect: Rect{X: x, Y: y0 + i*cellH, W: colW, H: cellH}, Fit: FitContain})
	}
	return dst, nil
}
