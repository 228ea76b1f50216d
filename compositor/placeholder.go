package compositor

import "strings"

// Placeholder look, video range: a dark grey tile with light grey text,
// neutral chroma.
const (
	PlaceholderY    = 40  // tile background luma
	PlaceholderText = 235 // text luma (video-range white)
	BlackY          = 16  // background and bars luma
	NeutralUV       = 128 // chroma of black, grey and white
)

// placeholderText picks what a w×h placeholder shows and at which integer
// scale of the 5×7 font: the whole label (upper case) when it fits at a
// legible size, else its initials (at most two), else "?" for an empty
// label. Scale 0 means the tile is too small for any text.
//
// Sizing: the label's cap height aims at about h/6 (7·s ≤ h/6, at least
// s = 1) and the text must fit in 90 % of the width; if that forces the
// scale below 2 while the tile could take 2 or more, initials are shown
// instead, with a cap height of about h/4.
func placeholderText(label string, w, h int) (text []byte, scale int) {
	words := strings.Fields(label)
	full := make([]byte, 0, len(label))
	for i, wd := range words {
		if i > 0 {
			full = append(full, ' ')
		}
		for _, r := range wd {
			full = append(full, fontChar(r))
		}
	}
	fit := func(t []byte, capDiv int) int {
		if len(t) == 0 {
			return 0
		}
		units := len(t)*advance - 1
		s := max(h/(capDiv*glyphH), 1)
		s = min(s, w*9/10/units, h*8/10/glyphH)
		return max(s, 0)
	}
	if len(full) > 0 {
		want := max(h/(6*glyphH), 1)
		if s := fit(full, 6); s >= min(want, 2) && s >= 1 {
			return full, s
		}
	}
	var initials []byte
	switch len(words) {
	case 0:
		initials = []byte{'?'}
	case 1:
		initials = []byte{fontChar(firstRune(words[0]))}
	default:
		initials = []byte{fontChar(firstRune(words[0])), fontChar(firstRune(words[len(words)-1]))}
	}
	return initials, fit(initials, 4)
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return '?'
}

// renderPlaceholder draws the placeholder luma for label into y (w×h,
// stride w). Chroma is uniformly NeutralUV.
func renderPlaceholder(y []byte, w, h int, label string) {
	fillBytes(y[:w*h], PlaceholderY)
	text, s := placeholderText(label, w, h)
	if s <= 0 {
		return
	}
	tw := (len(text)*advance - 1) * s
	th := glyphH * s
	x0 := (w - tw) / 2
	y0 := (h - th) / 2
	for ci, c := range text {
		gx := x0 + ci*advance*s
		for r, bits := range glyphs[c&127] {
			for col := range glyphW {
				if bits&(1<<(glyphW-1-col)) == 0 {
					continue
				}
				px, py := gx+col*s, y0+r*s
				for yy := py; yy < py+s; yy++ {
					if yy < 0 || yy >= h {
						continue
					}
					row := y[yy*w : yy*w+w]
					for xx := max(px, 0); xx < min(px+s, w); xx++ {
						row[xx] = PlaceholderText
					}
				}
			}
		}
	}
}

// fillBytes sets every byte of b to v.
func fillBytes(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}
