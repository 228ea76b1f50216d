package compositor

// Dirty tracking: a Compose redraws only the cells whose content changed
// since the canvas was last composed, and reports them (Damage), so that
// a caller can encode only those parts and skip a canvas in which nothing
// changed. A cell is clean when its tile has the same nonzero Version, the
// same frame size, label, overlay and region as when the cell was last
// drawn, and nothing marked it dirty (MarkDirty: a change the tile's
// fields do not show). Letterbox bars, placeholders and frozen
// pictures therefore cost nothing after their first frame.
//
// Whatever a Compose draws over a cell (labels, highlights) must be drawn
// in that cell's turn, which a clean cell skips, and a change of it must
// show in the tile (Tile.Overlay) or MarkDirty the cell: Damage is what encoders are told changed, so a pixel
// drawn outside it may never reach a receiver.

// cellDrawn is what a cell showed when it was last drawn.
type cellDrawn struct {
	version uint64 // of the picture (0: unknown, never clean)
	framed  bool   // a picture, not a placeholder
	w, h    int    // the picture's size
	label   string
	overlay Overlay // name label, mute mark, talking highlight
	region  Region
}

// dirtyState is the compositor's record of what its canvas shows.
type dirtyState struct {
	drawn  []cellDrawn // per tile index, as last drawn
	marked []bool      // per tile index: MarkDirty since the last Compose
	damage []Rect      // the last Compose's redrawn cells (canvas coordinates)
}

// MarkDirty makes the next Compose redraw tile i's cell whatever its
// Version, for a change the tile's fields do not show (an overlay drawn
// over the cell). Out-of-range indices are ignored.
func (c *Compositor) MarkDirty(i int) {
	if c == nil || i < 0 || i >= len(c.dirty.marked) {
		return
	}
	c.dirty.marked[i] = true
}

// Damage returns the canvas rectangles the last Compose redrew; empty
// when the canvas is exactly as the Compose before left it. The slice is
// the compositor's own, valid until the next Compose.
func (c *Compositor) Damage() []Rect {
	if c == nil {
		return nil
	}
	return c.dirty.damage
}

// begin starts a Compose of n tiles: full (the background was
// repainted, so every cell is drawn anew) forgets what the cells showed.
func (d *dirtyState) begin(n int, full bool, w, h int) {
	if len(d.drawn) != n {
		d.drawn = append(d.drawn[:0], make([]cellDrawn, n)...)
		d.marked = append(d.marked[:0], make([]bool, n)...)
	}
	if full {
		clear(d.drawn)
	}
	d.damage = d.damage[:0]
	if full {
		d.damage = append(d.damage, Rect{0, 0, w, h})
	}
}

// needsDraw reports whether tile i (region r, drawn in Z order after the
// cells already handled this Compose) must be drawn, and records what it
// will show. A cell overlapping one redrawn earlier in this Compose is
// redrawn too: the earlier one painted over it.
func (d *dirtyState) needsDraw(i int, r Region, t Tile) bool {
	// A placeholder is its label at its size; a picture is known by its
	// Version only.
	now := cellDrawn{label: t.Label, overlay: t.Overlay, region: r}
	known := t.Frame == nil
	if t.Frame != nil {
		now.version, now.framed, now.w, now.h = t.Version, true, t.Frame.Width, t.Frame.Height
		known = t.Version != 0
	}
	clean := known && now == d.drawn[i] && !d.marked[i]
	if clean {
		for _, dr := range d.damage {
			if dr.Overlaps(r.Rect) {
				clean = false
				break
			}
		}
	}
	d.marked[i] = false
	if clean {
		return false
	}
	d.drawn[i] = now
	if !d.covered(r.Rect) {
		d.damage = append(d.damage, r.Rect)
	}
	return true
}

// covered reports whether a rectangle already in the damage contains r.
func (d *dirtyState) covered(r Rect) bool {
	for _, dr := range d.damage {
		if r.X >= dr.X && r.Y >= dr.Y && r.X+r.W <= dr.X+dr.W && r.Y+r.H <= dr.Y+dr.H {
			return true
		}
	}
	return false
}

// forget makes tile i's cell dirty for the next Compose: what it shows is
// not what its tile says (a bad frame drawn as a placeholder).
func (d *dirtyState) forget(i int) { d.drawn[i] = cellDrawn{} }
