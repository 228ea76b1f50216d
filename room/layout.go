package room

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/media"
)

// LayoutType is how a canvas arranges its tiles.
type LayoutType uint8

const (
	LayoutUnknown LayoutType = iota
	// LayoutGrid: everyone by join order.
	LayoutGrid
	// LayoutSpeaker: the speaker slot large, the others in a strip.
	LayoutSpeaker
	// LayoutPIP: the speaker slot full canvas, the next participant inset.
	LayoutPIP
	// LayoutCustom: regions as given.
	LayoutCustom
	// LayoutPresentation: the shown screen share large, the cameras in a
	// column (the grid while nobody shares).
	LayoutPresentation
)

func (t LayoutType) String() string {
	switch t {
	case LayoutGrid:
		return "grid"
	case LayoutSpeaker:
		return "speaker"
	case LayoutPIP:
		return "pip"
	case LayoutCustom:
		return "custom"
	case LayoutPresentation:
		return "presentation"
	}
	return "unknown"
}

// RegionSource says who a custom region shows.
type RegionSource uint8

const (
	// SourceNextFree: the next participant, in join order, not shown in
	// another region.
	SourceNextFree RegionSource = iota
	// SourceParticipant: Region.Participant.
	SourceParticipant
	// SourceSpeaker: the speaker slot (pinned, else active speaker).
	SourceSpeaker
	// SourcePresentation: the screen share shown (nothing while nobody
	// shares).
	SourcePresentation
)

// Fit says how a region's picture fills it.
type Fit uint8

const (
	// FitUnknown is the zero value, drawn as FitContain.
	FitUnknown Fit = iota
	// FitContain shows the whole picture, keeping its aspect ratio, with
	// black bars.
	FitContain
	// FitCover fills the region, keeping the aspect ratio, cropping the
	// picture's centre.
	FitCover
)

// compositorFit is the compositor's name for f.
func (f Fit) compositorFit() compositor.Fit {
	switch f {
	case FitContain:
		return compositor.FitContain
	case FitCover:
		return compositor.FitCover
	}
	return compositor.FitUnknown
}

// Region is one custom region, normalised to the canvas.
type Region struct {
	X, Y, W, H  float64
	Z           int
	Fit         Fit
	Source      RegionSource
	Participant media.ParticipantID
}

// Layout is a canvas arrangement.
type Layout struct {
	Type    LayoutType
	Regions []Region // LayoutCustom only
}

// Validate checks a layout a client asked for.
func (l Layout) Validate() error {
	switch l.Type {
	case LayoutGrid, LayoutSpeaker, LayoutPIP, LayoutPresentation:
		if len(l.Regions) > 0 {
			return fmt.Errorf("%w: regions are for custom layouts", ErrBadOptions)
		}
		return nil
	case LayoutCustom:
	default:
		return fmt.Errorf("%w: unknown layout type", ErrBadOptions)
	}
	if len(l.Regions) == 0 || len(l.Regions) > maxTiles {
		return fmt.Errorf("%w: a custom layout needs 1 to %d regions, got %d", ErrBadOptions, maxTiles, len(l.Regions))
	}
	for i, r := range l.Regions {
		in := func(v float64) bool { return v >= 0 && v <= 1 }
		if !in(r.X) || !in(r.Y) || !(r.W > 0) || !(r.H > 0) || !in(r.X+r.W) || !in(r.Y+r.H) {
			return fmt.Errorf("%w: region %d (%g,%g %gx%g) is not inside [0,1]", ErrBadOptions, i, r.X, r.Y, r.W, r.H)
		}
		if r.Source == SourceParticipant && r.Participant == "" {
			return fmt.Errorf("%w: region %d names no participant", ErrBadOptions, i)
		}
		if r.Fit > FitCover {
			return fmt.Errorf("%w: region %d has an unknown fit", ErrBadOptions, i)
		}
		if r.Source > SourcePresentation {
			return fmt.Errorf("%w: region %d has an unknown source", ErrBadOptions, i)
		}
	}
	return nil
}

// appendKey appends what identifies the layout's arrangement, for encoder
// sharing, to dst: the type and, for a custom layout, every region (each
// field as %g, %d or %s would print it, so keys stay as they always were).
// Appending into the view key's buffer keeps a tick from allocating a key.
func (l Layout) appendKey(dst []byte) []byte {
	dst = append(dst, l.Type.String()...)
	if l.Type != LayoutCustom {
		return dst
	}
	for _, r := range l.Regions {
		for i, v := range [...]float64{r.X, r.Y, r.W, r.H} {
			if i == 0 {
				dst = append(dst, ';')
			} else {
				dst = append(dst, ',')
			}
			dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
		}
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(r.Z), 10)
		dst = append(dst, ',')
		dst = strconv.AppendUint(dst, uint64(r.Fit), 10)
		dst = append(dst, ',')
		dst = strconv.AppendUint(dst, uint64(r.Source), 10)
		dst = append(dst, ',')
		dst = append(dst, r.Participant...)
	}
	return dst
}

// customBuf is what a custom layout is resolved into: the tiles its
// regions show and those regions. The video clock reuses one for every
// receiver, so resolving allocates nothing once it has grown, and what
// arrange returns from it is only good until the next receiver's turn.
type customBuf struct {
	tiles  []tileRef
	layout compositor.Custom
}

// arrange orders the candidate tiles (join order, the viewer already left
// out if it excludes itself) for the layout, and returns the compositor
// layout that places them. featured is the speaker slot ("" if none),
// share the screen share shown (nil if none). Grid, speaker and PIP
// reorder tiles in place and return a prefix of tiles; a custom layout,
// whose regions may show one tile twice, and the presentation layout, which
// adds the share, are resolved into buf.
func (l Layout) arrange(tiles []tileRef, featured media.ParticipantID, share *tileRef, buf *customBuf) ([]tileRef, compositor.Layout) {
	switch l.Type {
	case LayoutPresentation:
		if share == nil {
			break // the grid
		}
		out := append(buf.tiles[:0], *share)
		out = append(out, recentSpeakers(tiles, maxTiles-1)...)
		buf.tiles = out
		return out, compositor.Presentation()
	case LayoutSpeaker, LayoutPIP:
		// The speaker slot (else the first tile) first, the others after
		// it in order.
		if fi := indexOf(tiles, featured); fi > 0 {
			f := tiles[fi]
			copy(tiles[1:fi+1], tiles[:fi])
			tiles[0] = f
		}
		if l.Type == LayoutPIP {
			return tiles[:min(len(tiles), 2)], compositor.PIP()
		}
		return recentSpeakers(tiles, maxTiles), compositor.Speaker()
	case LayoutCustom:
		return l.arrangeCustom(tiles, featured, share, buf)
	}
	return recentSpeakers(tiles, maxTiles), compositor.Grid()
}

// arrangeCustom resolves each region's source; regions whose participant is
// absent are left out.
func (l Layout) arrangeCustom(tiles []tileRef, featured media.ParticipantID, share *tileRef, buf *customBuf) ([]tileRef, compositor.Layout) {
	// pick[i] is the index in tiles of what region i shows (-1: nothing,
	// pickShare: the share);
	// a tile is taken when pick holds it. A valid layout has at most
	// maxTiles regions, so pick fits in picks without allocating.
	var picks [maxTiles]int
	pick := picks[:0]
	for _, r := range l.Regions {
		i := -1
		switch r.Source {
		case SourceParticipant:
			i = indexOf(tiles, r.Participant)
		case SourceSpeaker:
			if i = indexOf(tiles, featured); i < 0 && len(tiles) > 0 {
				i = 0
			}
		case SourcePresentation:
			if share != nil {
				i = pickShare
			}
		}
		pick = append(pick, i)
	}
	next := 0
	for i, r := range l.Regions {
		if r.Source != SourceNextFree {
			continue
		}
		for next < len(tiles) && slices.Contains(pick, next) {
			next++
		}
		if next < len(tiles) {
			pick[i] = next
		}
	}
	out, regions := buf.tiles[:0], buf.layout.Regions[:0]
	for i, r := range l.Regions {
		switch {
		case pick[i] == pickShare:
			out = append(out, *share)
		case pick[i] < 0:
			continue
		default:
			out = append(out, tiles[pick[i]])
		}
		regions = append(regions, compositor.NormRegion{X: r.X, Y: r.Y, W: r.W, H: r.H, Z: r.Z, Fit: r.Fit.compositorFit()})
	}
	buf.tiles, buf.layout.Regions = out, regions
	return out, &buf.layout
}

// pickShare marks a custom region that shows the screen share.
const pickShare = -2

func indexOf(tiles []tileRef, id media.ParticipantID) int {
	for i, t := range tiles {
		if id != "" && t.p.id == id {
			return i
		}
	}
	return -1
}
