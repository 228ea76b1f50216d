package compositor

import "errors"

// Sentinel errors. Functions wrap them with %w and add the offending value,
// so callers test with errors.Is and humans read the detail.
var (
	// ErrInvalidSize reports a canvas size that is odd or outside
	// [MinCanvasDim, MaxCanvasDim].
	ErrInvalidSize = errors.New("compositor: invalid canvas size")

	// ErrTooManyTiles reports more tiles than the layout has slots for
	// (more than MaxGridTiles for Grid and Speaker, more than PIPMaxTiles
	// for PIP, more than its regions for Custom), or a canvas too small to
	// give each of them a region.
	ErrTooManyTiles = errors.New("compositor: too many tiles for layout")

	// ErrBadRegion reports a layout region that is not even-aligned, is
	// empty or lies outside the canvas, a layout that returned the wrong
	// number of regions, or a Custom region with out-of-range values.
	ErrBadRegion = errors.New("compositor: bad layout region")

	// ErrNoLayout reports a nil Layout passed to Compose.
	ErrNoLayout = errors.New("compositor: nil layout")

	// ErrBadFrame reports a tile frame whose size, strides or plane lengths
	// are inconsistent. Compose draws that tile as its placeholder.
	ErrBadFrame = errors.New("compositor: bad video frame")

	// ErrNotInitialized reports a Compositor not made by New.
	ErrNotInitialized = errors.New("compositor: not initialized (use New)")
)
