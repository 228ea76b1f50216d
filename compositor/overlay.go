package compositor

// Overlays: what the compositor draws over a tile after its picture, so
// that every output of the canvas (each receiver's stream, WHEP viewers,
// recordings) shows who is who, who is muted and who talks.
//
// drawOverlay is the one entry point: it paints only inside the tile's
// cell, after the cell's picture, so a change of a tile's Overlay is a
// change of that cell and nothing else (Overlay is comparable for that).
//
// Look (video range):
//   - the name in a label at the cell's bottom-left: the 5×7 font at an
//     integer scale (the "unit") over a darkened box one unit wider than
//     the text on every side;
//   - a muted-microphone mark: a red square holding a white crossed-out
//     microphone, inside the label to the right of the name (alone when
//     there is no name);
//   - a highlight: a yellow border inside the cell's edges.
//
// Sizing follows the cell: the unit is cell height / 180 (2 on a 360 px
// cell), never below the compositor's minimum unit (SetOverlayUnit: the
// room sets canvas width / its lowest rung's width, so one font unit is at
// least one pixel on the smallest stream) and never so large that the
// label takes more than a quarter of the cell's height. A name too long for
// the cell's width is cut.

// Overlay is what is drawn over one tile.
type Overlay struct {
	// Name is written in the tile's label ("" no label). On a placeholder
	// the name is already written large, so only the mute mark is drawn.
	Name string
	// Muted draws the muted-microphone mark.
	Muted bool
	// Highlight draws the talking border.
	Highlight bool
}

// Overlay colours (video range, BT.601).
const (
	labelTextY = 235
	// Label boxes keep 3/8 of the picture's distance from black and from
	// neutral chroma: dark enough for the text, the picture still shows.
	labelKeepNum, labelKeepDen = 3, 8
	muteY, muteU, muteV        = 81, 90, 240  // red
	highlightY                 = 210          // yellow
	highlightU, highlightV     = 16, 146      //
	labelMaxFrac               = 4            // a label is at most 1/4 of the cell's height
	unitPerHeight              = 180          // cell height per font unit
	borderPerHeight            = 48           // cell height per border pixel
	labelRows                  = glyphH + 2*1 // text plus one unit of padding above and below
)

// micArt is the muted-microphone glyph (5×7, like the font): a microphone
// on a stand, crossed out by the diagonal.
var micArt = [glyphH]string{
	"#.##.",
	".###.",
	".##..",
	".#.#.",
	"#.###",
	"..#.#",
	".###.",
}

var micGlyph [glyphH]uint8

// darkLuma and darkChroma map a picture's luma and chroma to the label
// box's: a table costs less per pixel than the arithmetic.
var darkLuma, darkChroma [256]byte

func init() {
	for v := range 256 {
		darkLuma[v] = byte(BlackY + (v-BlackY)*labelKeepNum/labelKeepDen)
		darkChroma[v] = byte(NeutralUV + (v-NeutralUV)*labelKeepNum/labelKeepDen)
	}
	for r, row := range micArt {
		for c := range glyphW {
			if row[c] == '#' {
				micGlyph[r] |= 1 << (glyphW - 1 - c)
			}
		}
	}
}

// SetOverlayUnit sets the smallest font unit of labels and the mute mark
// in canvas pixels (values below 1 mean 1). A canvas scaled down k times
// for its smallest stream needs a unit of at least k for labels to stay
// legible there.
func (c *Compositor) SetOverlayUnit(px int) {
	if u := max(px, 1); u != c.minUnit {
		c.minUnit = u
		clear(c.dirty.drawn) // every label changes size: redraw every cell
	}
}

// labelLayout is where an overlay's parts go in a cell.
type labelLayout struct {
	unit   int
	border int  // highlight border thickness
	box    Rect // the darkened label box (empty: no label)
	textX  int  // first glyph's left edge
	textY  int  // glyphs' top edge
	chars  int  // how many characters of the name fit
	mute   Rect // the mute mark (empty: none)
}

// layoutOverlay computes the parts of o in cell for a minimum unit.
// Everything it returns lies inside cell; the box and mark are
// even-aligned so their chroma maps exactly.
func layoutOverlay(cell Rect, o Overlay, minUnit int, placeholder bool) labelLayout {
	var l labelLayout
	l.border = min(max(floorEven(cell.H/borderPerHeight), 2, floorEven(2*minUnit)), floorEven(min(cell.W, cell.H)/8))
	name := o.Name
	if placeholder {
		name = ""
	}
	if name == "" && !o.Muted {
		return l
	}
	u := max(cell.H/unitPerHeight, minUnit, 1)
	u = min(u, cell.H/labelMaxFrac/labelRows)
	if u < 1 {
		return l
	}
	l.unit = u
	boxH := (labelRows*u + 1) &^ 1
	margin := (max(l.border, 2) + u + 1) &^ 1 // clear of the border, even
	avail := cell.W - 2*margin                // width the box may take
	markW := 0
	if o.Muted {
		markW = (labelRows*u + 1) &^ 1 // a square as tall as the box
	}
	// The text takes advance·u per character plus one unit of padding
	// each side (the last character's spacing stands in for the right).
	room := avail - markW - u
	n := 0
	if name != "" && room > 0 {
		n = min(runeCount(name), room/(advance*u))
	}
	l.chars = n
	textW := 0
	if n > 0 {
		textW = u + n*advance*u
	}
	boxW := (textW + markW + 1) &^ 1
	if boxW == 0 || boxW > avail || boxH > cell.H-2*margin {
		l.chars = 0
		return l
	}
	l.box = Rect{X: cell.X + margin, Y: cell.Y + cell.H - margin - boxH, W: boxW, H: boxH}
	l.textX = l.box.X + u
	l.textY = l.box.Y + (boxH-glyphH*u)/2
	if o.Muted {
		l.mute = Rect{X: l.box.X + boxW - markW, Y: l.box.Y, W: markW, H: boxH}
	}
	return l
}

func runeCount(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

// drawOverlay draws tile overlay o over cell, whose picture (or
// placeholder) was just drawn.
func (c *Compositor) drawOverlay(cell Rect, o Overlay, placeholder bool) {
	if o == (Overlay{}) {
		return
	}
	l := layoutOverlay(cell, o, c.minUnit, placeholder)
	if o.Highlight {
		c.drawBorder(cell, l.border)
	}
	if l.box.Empty() {
		return
	}
	c.darken(l.box)
	if l.chars > 0 {
		i, x := 0, l.textX
		for _, r := range o.Name {
			if i == l.chars {
				break
			}
			c.drawGlyph(&glyphs[fontChar(r)&127], x, l.textY, l.unit, labelTextY)
			x += advance * l.unit
			i++
		}
	}
	if !l.mute.Empty() {
		c.fillRect(l.mute, muteY, muteU, muteV)
		gx := l.mute.X + (l.mute.W-glyphW*l.unit)/2
		gy := l.mute.Y + (l.mute.H-glyphH*l.unit)/2
		c.drawGlyph(&micGlyph, gx, gy, l.unit, labelTextY)
	}
}

// drawBorder paints a highlight border b pixels thick inside cell.
func (c *Compositor) drawBorder(cell Rect, b int) {
	b = min(b, cell.W/2&^1, cell.H/2&^1)
	if b <= 0 {
		return
	}
	c.fillRect(Rect{cell.X, cell.Y, cell.W, b}, highlightY, highlightU, highlightV)
	c.fillRect(Rect{cell.X, cell.Y + cell.H - b, cell.W, b}, highlightY, highlightU, highlightV)
	c.fillRect(Rect{cell.X, cell.Y + b, b, cell.H - 2*b}, highlightY, highlightU, highlightV)
	c.fillRect(Rect{cell.X + cell.W - b, cell.Y + b, b, cell.H - 2*b}, highlightY, highlightU, highlightV)
}

// fillRect paints an even-aligned rectangle one colour.
func (c *Compositor) fillRect(r Rect, y, u, v byte) {
	if r.Empty() {
		return
	}
	cv := c.canvas
	fillPlaneRect(cv.Y, cv.StrideY, r.X, r.Y, r.W, r.H, y)
	fillPlaneRect(cv.U, cv.StrideU, r.X/2, r.Y/2, r.W/2, r.H/2, u)
	fillPlaneRect(cv.V, cv.StrideV, r.X/2, r.Y/2, r.W/2, r.H/2, v)
}

// darken pulls an even-aligned rectangle toward black and its chroma
// toward neutral, keeping labelKeepNum/labelKeepDen of each.
func (c *Compositor) darken(r Rect) {
	cv := c.canvas
	keep := func(pix []byte, stride, x, y, w, h int, lut *[256]byte) {
		for j := y; j < y+h; j++ {
			row := pix[j*stride+x : j*stride+x+w]
			for i, p := range row {
				row[i] = lut[p]
			}
		}
	}
	keep(cv.Y, cv.StrideY, r.X, r.Y, r.W, r.H, &darkLuma)
	keep(cv.U, cv.StrideU, r.X/2, r.Y/2, r.W/2, r.H/2, &darkChroma)
	keep(cv.V, cv.StrideV, r.X/2, r.Y/2, r.W/2, r.H/2, &darkChroma)
}

// drawGlyph sets the luma of a 5×7 glyph's pixels, scaled by unit, with
// its top-left at (x, y) on the canvas. Callers keep it inside the canvas.
func (c *Compositor) drawGlyph(g *[glyphH]uint8, x, y, unit int, luma byte) {
	cv := c.canvas
	for row, bits := range g {
		if bits == 0 {
			continue
		}
		for yy := y + row*unit; yy < y+(row+1)*unit; yy++ {
			line := cv.Y[yy*cv.StrideY : yy*cv.StrideY+cv.Width]
			for col := range glyphW {
				if bits&(1<<(glyphW-1-col)) != 0 {
					px := x + col*unit
					fillBytes(line[px:px+unit], luma)
				}
			}
		}
	}
}
