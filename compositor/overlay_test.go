package compositor

import (
	"fmt"
	"testing"
)

// withOverlays gives tiles their names as labels, mutes the odd ones and
// highlights tile 0.
func withOverlays(tiles []Tile) []Tile {
	out := make([]Tile, len(tiles))
	for i, t := range tiles {
		t.Overlay = Overlay{Name: t.Label, Muted: i%2 == 1, Highlight: i == 0}
		out[i] = t
	}
	return out
}

var grey = yuv{"grey", 126, 128, 128}

// glyphPixels is how many pixels the font sets for text at unit u.
func glyphPixels(text string, u int) int {
	n := 0
	for _, r := range text {
		for _, bits := range glyphs[fontChar(r)&127] {
			for col := range glyphW {
				if bits&(1<<(glyphW-1-col)) != 0 {
					n++
				}
			}
		}
	}
	return n * u * u
}

// TestOverlayLabel: the name is written inside the label box, with
// exactly the font's coverage, at a legible size for every cell size;
// nothing outside the box changes.
func TestOverlayLabel(t *testing.T) {
	for _, tt := range []struct {
		w, h, minUnit int
		name, shown   string
	}{
		{1280, 720, 1, "Alice", "ALICE"},
		{640, 360, 1, "Bob 7", "BOB 7"},
		{320, 180, 1, "Carol", "CAROL"},
		{160, 90, 1, "Dan", "DAN"},
		{640, 360, 4, "Erin", "ERIN"},
		{320, 180, 4, "Frank Fernández-Long", "FRANK"}, // cut to what fits
		{96, 54, 1, "Émile", "EMILE"},
	} {
		t.Run(fmt.Sprintf("%dx%d/unit%d/%s", tt.w, tt.h, tt.minUnit, tt.name), func(t *testing.T) {
			c := mustNew(t, tt.w, tt.h)
			c.SetOverlayUnit(tt.minUnit)
			tile := Tile{Frame: newFrame(t, tt.w, tt.h, 0, grey), Overlay: Overlay{Name: tt.name}}
			cv, err := c.Compose(Grid(), []Tile{tile})
			if err != nil {
				t.Fatal(err)
			}
			dumpPNG(t, cv, fmt.Sprintf("label_%dx%d_%d", tt.w, tt.h, tt.minUnit))
			cell := Rect{W: tt.w, H: tt.h}
			l := layoutOverlay(cell, tile.Overlay, tt.minUnit, false)
			if l.box.Empty() || !l.box.Even() || !l.box.Within(tt.w, tt.h) {
				t.Fatalf("label box %v", l.box)
			}
			if l.unit < max(tt.minUnit, 1) || l.box.H > tt.h/4 {
				t.Errorf("unit %d (min %d), box %v on a %dx%d cell", l.unit, tt.minUnit, l.box, tt.w, tt.h)
			}
			if want := len([]rune(tt.shown)); l.chars > len([]rune(tt.name)) || (tt.shown == tt.name && l.chars != want) {
				t.Errorf("%d characters shown, want %d", l.chars, want)
			}
			dark := byte(BlackY + (int(grey.y)-BlackY)*labelKeepNum/labelKeepDen)
			text := 0
			for y := range tt.h {
				for x := range tt.w {
					yy, u, v := cv.At(x, y)
					in := x >= l.box.X && x < l.box.X+l.box.W && y >= l.box.Y && y < l.box.Y+l.box.H
					switch {
					case !in && (yy != grey.y || u != grey.u || v != grey.v):
						t.Fatalf("(%d,%d) outside the label box %v changed: %d,%d,%d", x, y, l.box, yy, u, v)
					case in && yy == labelTextY:
						text++
					case in && yy != dark:
						t.Fatalf("(%d,%d) in the label box is %d, neither text nor the darkened %d", x, y, yy, dark)
					}
				}
			}
			shown := string([]rune(tt.name)[:l.chars])
			if want := glyphPixels(shown, l.unit); text != want || text == 0 {
				t.Errorf("%d text pixels, want %d (%q at unit %d)", text, want, shown, l.unit)
			}
		})
	}
}

// TestOverlayLegibleOnLowestRung: a 2×2 grid on a 1280×720 canvas with
// the unit the room sets for a 320×180 rung (4) is scaled to 320×180 as
// the room does; each glyph cell of the label can still be read there: the
// centre of every font unit that is set is bright, every one clear is dark.
func TestOverlayLegibleOnLowestRung(t *testing.T) {
	const W, H, k = 1280, 720, 4
	c := mustNew(t, W, H)
	c.SetOverlayUnit(k)
	tiles := make([]Tile, 4)
	for i := range tiles {
		tiles[i] = Tile{Frame: newFrame(t, 640, 360, 0, grey), Overlay: Overlay{Name: fmt.Sprint("User ", i+1), Muted: i == 2}}
	}
	cv, err := c.Compose(Grid(), tiles)
	if err != nil {
		t.Fatal(err)
	}
	rung := mustNew(t, W/k, H/k)
	small, err := rung.Compose(Grid(), []Tile{{Frame: cv}})
	if err != nil {
		t.Fatal(err)
	}
	dumpPNG(t, small, "label_rung320")
	regs, _ := Regions(Grid(), W, H, 4)
	for i, r := range regs {
		l := layoutOverlay(r.Rect, tiles[i].Overlay, k, false)
		for ci, ch := range tiles[i].Overlay.Name[:l.chars] {
			g := glyphs[fontChar(ch)&127]
			for row := range glyphH {
				for col := range glyphW {
					// the unit's centre on the canvas, then on the rung
					x := (l.textX + ci*advance*l.unit + col*l.unit + l.unit/2) / k
					y := (l.textY + row*l.unit + l.unit/2) / k
					lum, _, _ := small.At(x, y)
					set := g[row]&(1<<(glyphW-1-col)) != 0
					if set && lum < 150 || !set && lum > 110 {
						t.Errorf("tile %d %q row %d col %d: luma %d on the rung, set=%v", i, ch, row, col, lum, set)
					}
				}
			}
		}
	}
}

// TestOverlayHighlightAndMute: the highlight is a yellow border inside the
// cell; the mute mark is a red square with the white microphone; a
// placeholder keeps its large name and gets no label but the mark.
func TestOverlayHighlightAndMute(t *testing.T) {
	const W, H = 640, 360
	c := mustNew(t, W, H)
	tiles := []Tile{
		{Frame: newFrame(t, 320, 180, 0, grey), Label: "Ann", Overlay: Overlay{Name: "Ann", Highlight: true}},
		{Frame: newFrame(t, 320, 180, 0, grey), Label: "Ben", Overlay: Overlay{Name: "Ben", Muted: true}},
		{Label: "Cid", Overlay: Overlay{Name: "Cid", Muted: true, Highlight: true}},
	}
	cv, err := c.Compose(Grid(), tiles)
	if err != nil {
		t.Fatal(err)
	}
	dumpPNG(t, cv, "overlay_marks")
	regs, _ := Regions(Grid(), W, H, 3)
	yellow := yuv{"yellow", highlightY, highlightU, highlightV}
	redMark := yuv{"mute red", muteY, muteU, muteV}

	// Tile 0: border on all four edges, the picture right inside it.
	cell := regs[0].Rect
	l := layoutOverlay(cell, tiles[0].Overlay, 1, false)
	if l.border < 2 {
		t.Fatalf("border %d", l.border)
	}
	for _, p := range [][2]int{{cell.X, cell.Y}, {cell.X + cell.W - 1, cell.Y + cell.H/2}, {cell.X + cell.W/2, cell.Y + cell.H - 1}, {cell.X + l.border - 1, cell.Y + cell.H/3}} {
		checkColour(t, cv, p[0], p[1], yellow, 0, "highlight")
	}
	checkColour(t, cv, cell.X+l.border, cell.Y+cell.H/3, grey, 0, "picture inside the border")
	if !l.mute.Empty() {
		t.Error("tile 0 is not muted but has a mark")
	}

	// Tile 1: no border, a red mark right of the name, the mic in white.
	cell = regs[1].Rect
	l = layoutOverlay(cell, tiles[1].Overlay, 1, false)
	checkColour(t, cv, cell.X, cell.Y, grey, 0, "unhighlighted edge")
	if l.mute.Empty() || l.chars != 3 || l.mute.X < l.textX+3*advance*l.unit-l.unit {
		t.Fatalf("mark %v, %d chars from %d", l.mute, l.chars, l.textX)
	}
	checkColour(t, cv, l.mute.X, l.mute.Y, redMark, 0, "mute mark corner")
	white, total := 0, 0
	for y := l.mute.Y; y < l.mute.Y+l.mute.H; y++ {
		for x := l.mute.X; x < l.mute.X+l.mute.W; x++ {
			total++
			if lum, _, _ := cv.At(x, y); lum == labelTextY {
				white++
			}
		}
	}
	if want := glyphPixelsOf(&micGlyph) * l.unit * l.unit; white != want {
		t.Errorf("mute mark has %d white pixels of %d, want %d", white, total, want)
	}

	// Tile 2: a placeholder: its centred name, a mark, no label text.
	cell = regs[2].Rect
	l = layoutOverlay(cell, tiles[2].Overlay, 1, true)
	if l.chars != 0 || l.mute.Empty() || l.box != l.mute {
		t.Errorf("placeholder overlay: %d chars, mark %v, box %v", l.chars, l.mute, l.box)
	}
	checkColour(t, cv, cell.X, cell.Y, yellow, 0, "placeholder highlight")
	checkColour(t, cv, l.mute.X, l.mute.Y, redMark, 0, "placeholder mute mark")
	checkColour(t, cv, cell.X+cell.W/2, cell.Y+l.border+2, yuv{"placeholder", PlaceholderY, NeutralUV, NeutralUV}, 0, "placeholder background")
}

func glyphPixelsOf(g *[glyphH]uint8) int {
	n := 0
	for _, bits := range g {
		for col := range glyphW {
			if bits&(1<<(glyphW-1-col)) != 0 {
				n++
			}
		}
	}
	return n
}

// TestOverlayTinyCells: overlays never paint outside their cell, however
// small it is, and a long name is cut to the cell.
func TestOverlayTinyCells(t *testing.T) {
	for _, sz := range [][2]int{{16, 16}, {32, 18}, {48, 28}, {64, 36}, {200, 40}} {
		for _, unit := range []int{1, 4} {
			cell := Rect{X: 2, Y: 4, W: sz[0], H: sz[1]}
			o := Overlay{Name: "A rather long display name", Muted: true, Highlight: true}
			l := layoutOverlay(cell, o, unit, false)
			for _, r := range []Rect{l.box, l.mute} {
				if !r.Empty() && (r.X < cell.X || r.Y < cell.Y || r.X+r.W > cell.X+cell.W || r.Y+r.H > cell.Y+cell.H || !r.Even()) {
					t.Errorf("%v unit %d: part %v outside the cell", cell, unit, r)
				}
			}
			if l.chars > 0 && l.textX+l.chars*advance*l.unit > l.box.X+l.box.W {
				t.Errorf("%v unit %d: %d characters overflow the box %v", cell, unit, l.chars, l.box)
			}
			if 2*l.border > min(cell.W, cell.H) {
				t.Errorf("%v: border %d", cell, l.border)
			}
		}
	}
}

// BenchmarkComposeOverlay compares Compose with and without overlays
// (every tile labelled, every other one muted, one highlighted) side by
// side, on the room's default 1280×720 canvas.
func BenchmarkComposeOverlay(b *testing.B) {
	for _, bc := range []struct{ n, w, h int }{{1, 1280, 720}, {4, 640, 360}, {9, 640, 360}, {16, 320, 180}} {
		base := benchTiles(b, bc.n, bc.w, bc.h)
		for _, mode := range []string{"off", "on"} {
			tiles := base
			if mode == "on" {
				tiles = withOverlays(base)
			}
			b.Run(fmt.Sprintf("tiles=%d/src=%s/overlay=%s", bc.n, size(bc.w, bc.h), mode), func(b *testing.B) {
				c := mustNew(b, DefaultWidth, DefaultHeight)
				c.SetOverlayUnit(4)
				if _, err := c.Compose(Grid(), tiles); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Compose(Grid(), tiles); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
