package room

import (
	"fmt"
	"strings"

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
)

// Region is one custom region, normalised to the canvas.
type Region struct {
	X, Y, W, H  float64
	Z           int
	Fit         compositor.Fit
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
	case LayoutGrid, LayoutSpeaker, LayoutPIP:
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
		if r.Fit > compositor.FitCover {
			return fmt.Errorf("%w: region %d has an unknown fit", ErrBadOptions, i)
		}
	}
	return nil
}

// key identifies the layout's arrangement for encoder sharing.
func (l Layout) key() string {
	if l.Type != LayoutCustom {
		return l.Type.String()
	}
	var b strings.Builder
	b.WriteString("custom")
	for _, r := range l.Regions {
		fmt.Fprintf(&b, ";%g,%g,%g,%g,%d,%d,%d,%s", r.X, r.Y, r.W, r.H, r.Z, r.Fit, r.Source, r.Participant)
	}
	return b.String()
}

// arrange orders the candidate tiles (join order, the viewer already left
// out if it excludes itself) for the layout, and returns the compositor
// layout that places them. featured is the speaker slot ("" if none).
func (l Layout) arrange(tiles []tileRef, featured media.ParticipantID) ([]tileRef, compositor.Layout) {
	switch l.Type {
	case LayoutSpeaker, LayoutPIP:
		out := make([]tileRef, 0, len(tiles))
		fi := indexOf(tiles, featured)
		if fi < 0 && len(tiles) > 0 {
			fi = 0
		}
		if fi >= 0 {
			out = append(out, tiles[fi])
		}
		for i, t := range tiles {
			if i != fi {
				out = append(out, t)
			}
		}
		if l.Type == LayoutPIP {
			return out[:min(len(out), 2)], compositor.PIP()
		}
		return recentSpeakers(out, maxTiles), compositor.Speaker()
	case LayoutCustom:
		return l.arrangeCustom(tiles, featured)
	}
	return recentSpeakers(tiles, maxTiles), compositor.Grid()
}

// arrangeCustom resolves each region's source; regions whose participant is
// absent are left out.
func (l Layout) arrangeCustom(tiles []tileRef, featured media.ParticipantID) ([]tileRef, compositor.Layout) {
	used := make([]bool, len(tiles))
	pick := make([]int, len(l.Regions))
	for i, r := range l.Regions {
		pick[i] = -1
		switch r.Source {
		case SourceParticipant:
			pick[i] = indexOf(tiles, r.Participant)
		case SourceSpeaker:
			if pick[i] = indexOf(tiles, featured); pick[i] < 0 && len(tiles) > 0 {
				pick[i] = 0
			}
		}
		if pick[i] >= 0 {
			used[pick[i]] = true
		}
	}
	next := 0
	for i, r := range l.Regions {
		if r.Source != SourceNextFree {
			continue
		}
		for next < len(tiles) && used[next] {
			next++
		}
		if next < len(tiles) {
			pick[i], used[next] = next, true
		}
	}
	custom := &compositor.Custom{}
	var out []tileRef
	for i, r := range l.Regions {
		if pick[i] < 0 {
			continue
		}
		out = append(out, tiles[pick[i]])
		custom.Regions = append(custom.Regions, compositor.NormRegion{X: r.X, Y: r.Y, W: r.W, H: r.H, Z: r.Z, Fit: r.Fit})
	}
	return out, custom
}

func indexOf(tiles []tileRef, id media.ParticipantID) int {
	for i, t := range tiles {
		if id != "" && t.p.id == id {
			return i
		}
	}
	return -1
}
