package compositor

import (
	"fmt"
	"testing"
)

func TestFontComplete(t *testing.T) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789?!.,-_'&@()+/:#*" {
		if !hasGlyph(byte(c)) {
			t.Errorf("no glyph for %q", c)
		}
	}
	// Distinct glyphs for distinct characters.
	seen := map[[glyphH]uint8]byte{}
	for c := byte(33); c < 128; c++ {
		if !hasGlyph(c) {
			continue
		}
		if prev, ok := seen[glyphs[c]]; ok {
			t.Errorf("%q and %q share a glyph", prev, c)
		}
		seen[glyphs[c]] = c
	}
	for _, tt := range []struct {
		in   rune
		want byte
	}{{'a', 'A'}, {'z', 'Z'}, {'é', 'E'}, {'Ö', 'O'}, {'ß', 'S'}, {'ñ', 'N'}, {'ł', 'L'}, {'语', '?'}, {'\t', ' '}, {'7', '7'}} {
		if got := fontChar(tt.in); got != tt.want {
			t.Errorf("fontChar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlaceholderText(t *testing.T) {
	tests := []struct {
		label    string
		w, h     int
		text     string
		minScale int
	}{
		{"Alice", 320, 180, "ALICE", 3},
		{"alice  smith", 320, 180, "ALICE SMITH", 2},
		{"Alexander Hamilton-Smith the Third", 320, 180, "AT", 4},
		{"Zoë", 1280, 720, "ZOE", 10},
		{"", 320, 180, "?", 4},
		{"   ", 320, 180, "?", 4},
		{"李小龙", 320, 180, "???", 2},
		{"Bob", 16, 16, "B", 1},
		{"Bob", 2, 2, "B", 0},
		{"Jean-Luc Picard", 426, 240, "JEAN-LUC PICARD", 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%s", tt.label, size(tt.w, tt.h)), func(t *testing.T) {
			text, s := placeholderText(tt.label, tt.w, tt.h)
			if string(text) != tt.text || s < tt.minScale {
				t.Fatalf("placeholderText = %q ×%d, want %q ×≥%d", text, s, tt.text, tt.minScale)
			}
			if s > 0 && ((len(text)*advance-1)*s > tt.w || glyphH*s > tt.h) {
				t.Fatalf("%q ×%d does not fit %s", text, s, size(tt.w, tt.h))
			}
		})
	}
}

// TestPlaceholderTile composes placeholders (nil frames) in a 4×4 grid of
// 320×180 cells and checks each: dark corners, light text in the middle,
// neutral chroma, and different labels look different.
func TestPlaceholderTile(t *testing.T) {
	labels := []string{"Alice", "Bob", "Carol Danvers", "", "Dr. Strange", "Ève", "Alexander Hamilton-Smith the Third", "x"}
	tiles := make([]Tile, 16)
	for i := range tiles {
		tiles[i].Label = labels[i%len(labels)]
	}
	c := mustNew(t, 1280, 720)
	out, err := c.Compose(Grid(), tiles)
	if err != nil {
		t.Fatal(err)
	}
	dumpPNG(t, out, "placeholders")
	regs, _ := Regions(Grid(), 1280, 720, 16)
	crops := map[string]string{}
	for i, r := range regs[:len(labels)] {
		t.Run(fmt.Sprintf("%d/%q", i, labels[i]), func(t *testing.T) {
			R := r.Rect
			dark := yuv{"placeholder", PlaceholderY, NeutralUV, NeutralUV}
			for _, p := range [][2]int{{R.X, R.Y}, {R.X + R.W - 1, R.Y}, {R.X, R.Y + R.H - 1}, {R.X + R.W - 1, R.Y + R.H - 1}} {
				checkColour(t, out, p[0], p[1], dark, 0, "corner")
			}
			light, total := 0, 0
			var sig []byte
			for y := R.Y + R.H/3; y < R.Y+2*R.H/3; y++ {
				for x := R.X + R.W/8; x < R.X+7*R.W/8; x++ {
					yy, u, v := out.At(x, y)
					if u != NeutralUV || v != NeutralUV {
						t.Fatalf("chroma %d,%d at (%d,%d)", u, v, x, y)
					}
					if yy >= 200 {
						light++
					}
					total++
					sig = append(sig, yy)
				}
			}
			// Text is present but does not flood the tile.
			if light < 100 || light > total/2 {
				t.Errorf("%d of %d centre pixels light", light, total)
			}
			if prev, ok := crops[string(sig)]; ok {
				t.Errorf("label %q renders like %q", labels[i], prev)
			}
			crops[string(sig)] = labels[i]
		})
	}
}

// TestPlaceholderMixed: placeholders and video side by side, and a tile
// switching between the two.
func TestPlaceholderMixed(t *testing.T) {
	c := mustNew(t, 1280, 720)
	f := newFrame(t, 640, 360, 0, blue)
	for i := range 3 {
		tiles := []Tile{{Frame: f, Label: "Ann"}, {Label: "Ben"}}
		if i == 1 {
			tiles[0].Frame, tiles[1].Frame = nil, f
		}
		out, err := c.Compose(Grid(), tiles)
		if err != nil {
			t.Fatal(err)
		}
		video, ph := 0, 1
		if i == 1 {
			video, ph = 1, 0
		}
		checkColour(t, out, video*640+320, 360, blue, 0, "video")
		checkColour(t, out, ph*640+2, 2, yuv{"placeholder", PlaceholderY, NeutralUV, NeutralUV}, 0, "placeholder")
	}
}
