// Package compositor tiles participants' video into one I420 canvas.
//
// Geometry is data: a Layout (Grid, Speaker, PIP, Custom, or any type
// implementing the interface) turns the canvas size and tile count into one
// Region per tile — an even-aligned pixel rectangle, a Z order and a Fit
// (contain = letterbox, cover = crop). ContentRect does the aspect-ratio
// arithmetic.
//
// A Compositor owns the canvas. Each Compose paints it black (Y 16, U V
// 128), then draws the tiles in Z order: a tile's latest frame is scaled
// into its region keeping the aspect ratio, with black bars (FitContain) or
// a centred crop (FitCover); a tile without a frame gets a placeholder, a
// dark grey tile with the participant's name, or initials when the name is
// too long, in a scaled 5×7 bitmap font. Cells whose tile did not change
// since the last Compose (Tile.Version) are left as they are, and Damage
// says which cells were redrawn (dirty.go).
//
// Scaling is separable 14-bit fixed point in pure Go: bilinear when
// enlarging, area averaging (box pre-filter) when shrinking, exact copies
// and 2:1 reductions on fast paths (details in scale.go). A cgo build
// (libyuv-dev) sends the same calls to libyuv's ScalePlane instead, unless
// built with `-tags nolibyuv`; without cgo the package is pure Go.
//
// Frame lifetimes: tile frames are only read during Compose and not
// retained. Compose returns the compositor's own canvas, valid until the
// next Compose; encode or copy it before then.
//
// The package is pure: no goroutines, no clock, no I/O. A Compositor is not
// safe for concurrent use; use one per room video clock (or lock). In
// steady state (same layout, same source sizes, same labels) Compose does
// not allocate: scaler tables and placeholder renderings are cached, the
// caches bounded.
package compositor

import (
	"errors"
	"fmt"

	"github.com/mcu-project/mcu/media"
)

// Canvas size limits (each dimension, pixels).
const (
	MinCanvasDim = 16
	MaxCanvasDim = 4096
	// MaxSourceDim bounds tile frame dimensions (as media.NewVideoFrame).
	MaxSourceDim = 8192
)

// DefaultWidth and DefaultHeight are the default canvas size.
const (
	DefaultWidth  = 1280
	DefaultHeight = 720
)

// Cache bounds: when a cache grows past its bound, entries not used by the
// current Compose are dropped.
const (
	maxScalerEntries      = 64
	maxPlaceholderEntries = 32
)

// Tile is one participant's contribution to a Compose.
type Tile struct {
	// Frame is the participant's latest picture, or nil for a
	// placeholder. It is only read during Compose and not retained.
	Frame *media.VideoFrame
	// Label is the name shown on the placeholder.
	Label string
	// Overlay is drawn over the tile's picture or placeholder (overlay.go).
	Overlay Overlay
	// Version identifies Frame's pixels: a new picture gets a Version no
	// picture of any tile had before (one counter for all sources), and
	// the same picture keeps it. A cell whose tile has the Version it was
	// last drawn with is not redrawn (dirty.go). 0: unknown, always drawn.
	Version uint64
}

type scaleKey struct {
	srcW, srcH int
	crop       Rect
	dstW, dstH int
}

type scaleEntry struct {
	yh, yv, ch, cv coeffs
	used           uint64
}

type placeKey struct {
	label string
	w, h  int
}

type placeEntry struct {
	y    []byte // w×h luma
	used uint64
}

// Compositor composes tiles into a canvas it owns.
type Compositor struct {
	canvas *media.VideoFrame
	gen    uint64

	regions []Region
	order   []int
	// cells are the regions' cells the canvas was last composed with.
	// Every Compose repaints each cell whole (picture and bars, or
	// placeholder), so the background between cells only needs painting
	// when the cells change: for a 2×2 grid that covers a 1280×720 canvas,
	// the full fill was a 1.4 MB memset per frame that drew nothing seen.
	cells []Rect

	scalers map[scaleKey]*scaleEntry
	places  map[placeKey]*placeEntry

	dirty dirtyState

	scr scratch
	fw  []float64
	fs  []int

	minUnit int // overlays' smallest font unit (SetOverlayUnit)
}

// New returns a compositor with a w×h canvas. w and h must be even and in
// [MinCanvasDim, MaxCanvasDim]; otherwise the error wraps ErrInvalidSize.
func New(w, h int) (*Compositor, error) {
	if err := checkCanvas(w, h); err != nil {
		return nil, err
	}
	canvas, err := media.NewVideoFrame(w, h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSize, err)
	}
	c := &Compositor{
		canvas:  canvas,
		scalers: make(map[scaleKey]*scaleEntry),
		places:  make(map[placeKey]*placeEntry),
		minUnit: 1,
	}
	fillPlaneRect(canvas.Y, canvas.StrideY, 0, 0, w, h, BlackY)
	fillPlaneRect(canvas.U, canvas.StrideU, 0, 0, w/2, h/2, NeutralUV)
	fillPlaneRect(canvas.V, canvas.StrideV, 0, 0, w/2, h/2, NeutralUV)
	return c, nil
}

// Size returns the canvas size.
func (c *Compositor) Size() (w, h int) {
	if c == nil || c.canvas == nil {
		return 0, 0
	}
	return c.canvas.Width, c.canvas.Height
}

// Canvas returns the canvas as last composed (black before the first
// Compose). The compositor owns it: it is overwritten by the next Compose.
func (c *Compositor) Canvas() *media.VideoFrame {
	if c == nil {
		return nil
	}
	return c.canvas
}

// Compose draws tiles into the canvas using layout and returns the canvas.
//
// The returned frame is the compositor's own canvas: valid until the next
// Compose on c; copy it (or finish encoding it) before then. Tile frames are
// only read during the call.
//
// Errors:
//   - a nil layout (ErrNoLayout), a layout that cannot take len(tiles)
//     (ErrTooManyTiles, ErrBadRegion) or returns regions that are not
//     even-aligned inside the canvas (ErrBadRegion): the canvas is left
//     untouched and the returned frame is nil;
//   - a tile whose frame has an impossible size, stride or plane length
//     (ErrBadFrame): that tile is drawn as its placeholder, every other
//     tile is drawn, and Compose returns the canvas together with the
//     error (errors.Join of one error per bad tile, each naming the tile
//     index). One participant's broken frame thus never blanks the room;
//     a caller that only checks err != nil may still drop the frame.
func (c *Compositor) Compose(layout Layout, tiles []Tile) (*media.VideoFrame, error) {
	if c == nil || c.canvas == nil {
		return nil, ErrNotInitialized
	}
	if layout == nil {
		return nil, ErrNoLayout
	}
	cv := c.canvas
	W, H := cv.Width, cv.Height
	regs, err := layout.AppendRegions(c.regions[:0], W, H, len(tiles))
	if cap(regs) > cap(c.regions) {
		c.regions = regs[:0]
	}
	if err != nil {
		return nil, err
	}
	if len(regs) != len(tiles) {
		return nil, fmt.Errorf("%w: layout returned %d regions for %d tiles", ErrBadRegion, len(regs), len(tiles))
	}
	for i, r := range regs {
		if r.Rect.W < 2 || r.Rect.H < 2 || !r.Rect.Even() || !r.Rect.Within(W, H) {
			return nil, fmt.Errorf("%w: region %d is %v on a %dx%d canvas", ErrBadRegion, i, r.Rect, W, H)
		}
	}
	c.gen++

	// Draw order: by Z, ties in tile order (insertion sort: n ≤ a few
	// dozen, no allocation).
	c.order = c.order[:0]
	for i := range regs {
		c.order = append(c.order, i)
		for k := len(c.order) - 1; k > 0 && regs[c.order[k-1]].Z > regs[c.order[k]].Z; k-- {
			c.order[k-1], c.order[k] = c.order[k], c.order[k-1]
		}
	}

	full := !sameCells(c.cells, regs)
	c.dirty.begin(len(tiles), full, W, H)
	if full {
		fillPlaneRect(cv.Y, cv.StrideY, 0, 0, W, H, BlackY)
		fillPlaneRect(cv.U, cv.StrideU, 0, 0, W/2, H/2, NeutralUV)
		fillPlaneRect(cv.V, cv.StrideV, 0, 0, W/2, H/2, NeutralUV)
		c.cells = c.cells[:0]
		for _, r := range regs {
			c.cells = append(c.cells, r.Rect)
		}
	}

	var errs []error
	for _, i := range c.order {
		r, t := regs[i], tiles[i]
		if !c.dirty.needsDraw(i, r, t) {
			continue
		}
		if t.Frame != nil {
			if err := checkFrame(t.Frame); err != nil {
				errs = append(errs, fmt.Errorf("tile %d: %w", i, err))
				c.dirty.forget(i)
			} else {
				c.drawFrame(r, t.Frame)
				c.drawOverlay(r.Rect, t.Overlay, false)
				continue
			}
		}
		c.drawPlaceholder(r.Rect, t.Label)
		c.drawOverlay(r.Rect, t.Overlay, true)
	}
	c.evict()
	if errs != nil {
		return cv, errors.Join(errs...)
	}
	return cv, nil
}

// sameCells reports whether regs have exactly the cells the canvas was
// last composed with, in the same order.
func sameCells(cells []Rect, regs []Region) bool {
	if len(cells) != len(regs) {
		return false
	}
	for i, r := range regs {
		if cells[i] != r.Rect {
			return false
		}
	}
	return true
}

// checkFrame validates a tile frame's geometry against its planes.
func checkFrame(f *media.VideoFrame) error {
	w, h := f.Width, f.Height
	if w <= 0 || h <= 0 || w > MaxSourceDim || h > MaxSourceDim {
		return fmt.Errorf("%w: size %dx%d", ErrBadFrame, w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	for _, p := range [...]struct {
		name         string
		pix          []byte
		stride, w, h int
	}{
		{"Y", f.Y, f.StrideY, w, h},
		{"U", f.U, f.StrideU, cw, ch},
		{"V", f.V, f.StrideV, cw, ch},
	} {
		if p.stride < p.w || (p.h > 1 && p.stride > len(p.pix)) {
			return fmt.Errorf("%w: %s stride %d for width %d (plane %d bytes)", ErrBadFrame, p.name, p.stride, p.w, len(p.pix))
		}
		if need := (p.h-1)*p.stride + p.w; len(p.pix) < need {
			return fmt.Errorf("%w: %s plane has %d bytes, %dx%d at stride %d needs %d",
				ErrBadFrame, p.name, len(p.pix), p.w, p.h, p.stride, need)
		}
	}
	return nil
}

// drawFrame scales f into region r, black bars around it.
func (c *Compositor) drawFrame(r Region, f *media.VideoFrame) {
	cv := c.canvas
	cell := r.Rect
	dst, crop := ContentRect(cell, f.Width, f.Height, r.Fit)
	// Bars: the cell minus dst (top, bottom, left, right strips), painted
	// every time: the background is only filled when the cells change,
	// and overlapping regions (picture-in-picture) must not show through.
	c.fillBlack(Rect{cell.X, cell.Y, cell.W, dst.Y - cell.Y})
	c.fillBlack(Rect{cell.X, dst.Y + dst.H, cell.W, cell.Y + cell.H - dst.Y - dst.H})
	c.fillBlack(Rect{cell.X, dst.Y, dst.X - cell.X, dst.H})
	c.fillBlack(Rect{dst.X + dst.W, dst.Y, cell.X + cell.W - dst.X - dst.W, dst.H})

	if accelScalePlane != nil { // libyuv (cgo, not nolibyuv)
		ccx, ccy := crop.X/2, crop.Y/2
		ccw := min((crop.X+crop.W+1)/2, f.ChromaWidth()) - ccx
		cch := min((crop.Y+crop.H+1)/2, f.ChromaHeight()) - ccy
		accelScalePlane(plane{cv.Y, cv.StrideY}, dst.X, dst.Y, dst.W, dst.H, plane{f.Y, f.StrideY}, crop.X, crop.Y, crop.W, crop.H)
		accelScalePlane(plane{cv.U, cv.StrideU}, dst.X/2, dst.Y/2, dst.W/2, dst.H/2, plane{f.U, f.StrideU}, ccx, ccy, ccw, cch)
		accelScalePlane(plane{cv.V, cv.StrideV}, dst.X/2, dst.Y/2, dst.W/2, dst.H/2, plane{f.V, f.StrideV}, ccx, ccy, ccw, cch)
		return
	}
	e := c.scaler(f.Width, f.Height, crop, dst.W, dst.H)
	scalePlane(plane{cv.Y, cv.StrideY}, dst.X, dst.Y, dst.W, dst.H, plane{f.Y, f.StrideY}, &e.yh, &e.yv, &c.scr)
	scalePlane(plane{cv.U, cv.StrideU}, dst.X/2, dst.Y/2, dst.W/2, dst.H/2, plane{f.U, f.StrideU}, &e.ch, &e.cv, &c.scr)
	scalePlane(plane{cv.V, cv.StrideV}, dst.X/2, dst.Y/2, dst.W/2, dst.H/2, plane{f.V, f.StrideV}, &e.ch, &e.cv, &c.scr)
}

// scaler returns the cached filter tables for scaling crop of a srcW×srcH
// frame to dstW×dstH (both even).
func (c *Compositor) scaler(srcW, srcH int, crop Rect, dstW, dstH int) *scaleEntry {
	k := scaleKey{srcW, srcH, crop, dstW, dstH}
	if e, ok := c.scalers[k]; ok {
		e.used = c.gen
		return e
	}
	e := &scaleEntry{used: c.gen}
	cw, ch := (srcW+1)/2, (srcH+1)/2
	c.fw, c.fs = e.yh.compute(srcW, float64(crop.X), float64(crop.W), dstW, c.fw, c.fs)
	c.fw, c.fs = e.yv.compute(srcH, float64(crop.Y), float64(crop.H), dstH, c.fw, c.fs)
	c.fw, c.fs = e.ch.compute(cw, float64(crop.X)/2, float64(crop.W)/2, dstW/2, c.fw, c.fs)
	c.fw, c.fs = e.cv.compute(ch, float64(crop.Y)/2, float64(crop.H)/2, dstH/2, c.fw, c.fs)
	c.scalers[k] = e
	return e
}

// drawPlaceholder copies the cached placeholder for label into cell.
func (c *Compositor) drawPlaceholder(cell Rect, label string) {
	k := placeKey{label, cell.W, cell.H}
	e, ok := c.places[k]
	if !ok {
		e = &placeEntry{y: make([]byte, cell.W*cell.H)}
		renderPlaceholder(e.y, cell.W, cell.H, label)
		c.places[k] = e
	}
	e.used = c.gen
	cv := c.canvas
	for j := range cell.H {
		o := (cell.Y+j)*cv.StrideY + cell.X
		copy(cv.Y[o:o+cell.W], e.y[j*cell.W:(j+1)*cell.W])
	}
	fillPlaneRect(cv.U, cv.StrideU, cell.X/2, cell.Y/2, cell.W/2, cell.H/2, NeutralUV)
	fillPlaneRect(cv.V, cv.StrideV, cell.X/2, cell.Y/2, cell.W/2, cell.H/2, NeutralUV)
}

// fillBlack paints an even-aligned canvas rectangle black; empty
// rectangles are ignored.
func (c *Compositor) fillBlack(r Rect) {
	if r.W <= 0 || r.H <= 0 {
		return
	}
	cv := c.canvas
	fillPlaneRect(cv.Y, cv.StrideY, r.X, r.Y, r.W, r.H, BlackY)
	fillPlaneRect(cv.U, cv.StrideU, r.X/2, r.Y/2, r.W/2, r.H/2, NeutralUV)
	fillPlaneRect(cv.V, cv.StrideV, r.X/2, r.Y/2, r.W/2, r.H/2, NeutralUV)
}

// evict drops cache entries not used by this Compose once a cache is over
// its bound. In steady state nothing is dropped or added.
func (c *Compositor) evict() {
	if len(c.scalers) > maxScalerEntries {
		for k, e := range c.scalers {
			if e.used != c.gen {
				delete(c.scalers, k)
			}
		}
	}
	if len(c.places) > maxPlaceholderEntries {
		for k, e := range c.places {
			if e.used != c.gen {
				delete(c.places, k)
			}
		}
	}
}

// fillPlaneRect sets a w×h rectangle of an 8-bit plane to v.
func fillPlaneRect(pix []byte, stride, x, y, w, h int, v byte) {
	if w <= 0 || h <= 0 {
		return
	}
	if x == 0 && w == stride {
		fillBytes(pix[y*stride:(y+h)*stride], v)
		return
	}
	first := pix[y*stride+x : y*stride+x+w]
	fillBytes(first, v)
	for j := 1; j < h; j++ {
		o := (y+j)*stride + x
		copy(pix[o:o+w], first)
	}
}
