package compositor

import (
	"slices"
	"testing"

	"github.com/mcu-project/mcu/media"
)

// TestDirtyCells: a Compose redraws exactly the cells whose tile changed
// (a new Version, a label, a MarkDirty), reports them as its Damage, and
// the canvas shows every tile's latest content whatever was skipped.
func TestDirtyCells(t *testing.T) {
	const w, h = 320, 180
	c, err := New(w, h)
	if err != nil {
		t.Fatal(err)
	}
	redF, greenF, blueF := newFrame(t, 160, 90, 0, red), newFrame(t, 160, 90, 0, green), newFrame(t, 160, 90, 0, blue)
	tiles := []Tile{{Frame: redF, Version: 1}, {Frame: greenF, Version: 2}, {Label: "Ann"}, {Frame: blueF, Version: 3}}
	compose := func(what string, want []Rect) *media.VideoFrame {
		t.Helper()
		cv, err := c.Compose(Grid(), tiles)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Damage(); !slices.Equal(got, want) {
			t.Fatalf("%s: damage %v, want %v", what, got, want)
		}
		return cv
	}
	cell := func(i int) Rect { return Rect{X: (i % 2) * 160, Y: (i / 2) * 90, W: 160, H: 90} }
	compose("first compose", []Rect{{0, 0, w, h}})
	cv := compose("nothing changed", nil)
	checkColour(t, cv, 80, 45, red, 2, "unchanged cell 0")

	// Tile 1's camera sends a new (blue) picture: only its cell is redrawn.
	tiles[1] = Tile{Frame: blueF, Version: 4}
	cv = compose("new picture in cell 1", []Rect{cell(1)})
	checkColour(t, cv, 240, 45, blue, 2, "changed cell 1")
	checkColour(t, cv, 80, 45, red, 2, "cell 0 left as it was")
	checkColour(t, cv, 240, 135, blue, 2, "cell 3 left as it was")

	// The same picture again: nothing; a placeholder's new name: its cell.
	compose("same picture", nil)
	tiles[2].Label = "Bob"
	compose("placeholder renamed", []Rect{cell(2)})
	compose("placeholder unchanged", nil)

	// A tile's overlay (label, mute mark, highlight) changed: its cell is
	// redrawn once with it, the picture unchanged.
	tiles[0].Overlay = Overlay{Name: "Ann", Highlight: true}
	compose("highlight on", []Rect{cell(0)})
	compose("highlight kept", nil)
	tiles[0].Overlay.Highlight = false
	compose("highlight off", []Rect{cell(0)})
	tiles[0].Overlay = Overlay{}
	compose("overlay gone", []Rect{cell(0)})
	checkColour(t, cv, 80, 45, red, 2, "cell 0 after its overlay went")
	c.SetOverlayUnit(3)
	compose("overlay unit changed", []Rect{cell(0), cell(1), cell(2), cell(3)})
	compose("overlay unit kept", nil)

	// A change the tile does not show: MarkDirty redraws it once.
	c.MarkDirty(0)
	c.MarkDirty(99) // ignored
	compose("marked dirty", []Rect{cell(0)})
	compose("mark consumed", nil)

	// Version 0 means unknown: always redrawn.
	tiles[3].Version = 0
	compose("no version", []Rect{cell(3)})
	compose("no version again", []Rect{cell(3)})
	tiles[3].Version = 5

	// A camera that stops (frozen → placeholder) changes its cell once.
	compose("versioned again", []Rect{cell(3)})
	tiles[3] = Tile{Label: "Cy"}
	cv = compose("camera off", []Rect{cell(3)})
	compose("placeholder stays", nil)
	if _, gu, _ := cv.At(240, 100); gu != NeutralUV {
		t.Fatalf("cell 3 still shows the camera after it went off")
	}

	// A new layout (three tiles) repaints everything.
	tiles = tiles[:3]
	compose("layout changed", []Rect{{0, 0, w, h}})
}

// TestDirtyOverlap: in picture-in-picture a change under the small picture
// redraws the small picture too (it must stay on top), and a change of the
// small picture alone redraws only its cell.
func TestDirtyOverlap(t *testing.T) {
	c, err := New(640, 360)
	if err != nil {
		t.Fatal(err)
	}
	big, small := newFrame(t, 640, 360, 0, red), newFrame(t, 320, 180, 0, green)
	tiles := []Tile{{Frame: big, Version: 1}, {Frame: small, Version: 2}}
	if _, err := c.Compose(PIP(), tiles); err != nil {
		t.Fatal(err)
	}
	regs, err := PIP().AppendRegions(nil, 640, 360, 2)
	if err != nil {
		t.Fatal(err)
	}
	tiles[0] = Tile{Frame: newFrame(t, 640, 360, 0, blue), Version: 3}
	cv, err := c.Compose(PIP(), tiles)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Damage(), []Rect{regs[0].Rect}; !slices.Equal(got, want) {
		t.Fatalf("damage %v, want %v (the small cell lies inside the big one)", got, want)
	}
	pip := regs[1].Rect
	checkColour(t, cv, pip.X+pip.W/2, pip.Y+pip.H/2, green, 2, "small picture still on top")
	checkColour(t, cv, 20, 20, blue, 2, "big picture changed")

	tiles[1] = Tile{Frame: newFrame(t, 320, 180, 0, white), Version: 4}
	cv, err = c.Compose(PIP(), tiles)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Damage(), []Rect{pip}; !slices.Equal(got, want) {
		t.Fatalf("damage %v, want %v", got, want)
	}
	checkColour(t, cv, pip.X+pip.W/2, pip.Y+pip.H/2, white, 2, "small picture changed")
}

// BenchmarkComposeStatic: composing a canvas where nothing changed costs a
// comparison per tile, against the full compose of moving cameras.
func BenchmarkComposeStatic(b *testing.B) {
	for _, moving := range []bool{true, false} {
		name := "static"
		if moving {
			name = "moving"
		}
		b.Run(name, func(b *testing.B) {
			c, err := New(1280, 720)
			if err != nil {
				b.Fatal(err)
			}
			tiles := make([]Tile, 4)
			for i := range tiles {
				tiles[i] = Tile{Frame: newFrame(b, 640, 360, 0, red), Version: uint64(i + 1)}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				if moving {
					for i := range tiles {
						tiles[i].Version = uint64(n*4 + i + 1)
					}
				}
				if _, err := c.Compose(Grid(), tiles); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
