// Package svgplot draws small line charts as SVG for benchmark reports and
// test traces: no dependencies, readable in any browser.
package svgplot

import (
	"fmt"
	"strings"
)

// Series is one line: points (X[i], Y[i]); points with Y < 0 are gaps.
type Series struct {
	Name, Colour string
	X, Y         []float64
	// Step draws the line as steps (a level held until the next point).
	Step bool
}

// Chart is a plot's labels; XTicks, when set, are the x values labelled.
type Chart struct {
	XLabel, YLabel string
	XTicks         []float64
	Width, Height  int // default 640×360
}

// Line draws the series on shared axes starting at zero.
func Line(c Chart, series []Series) string {
	w, h := c.Width, c.Height
	if w == 0 || h == 0 {
		w, h = 640, 360
	}
	const pad = 56
	maxX, maxY := 1e-9, 1e-9
	for _, s := range series {
		for i := range s.X {
			maxX = max(maxX, s.X[i])
			maxY = max(maxY, s.Y[i])
		}
	}
	maxY *= 1.15
	x := func(v float64) float64 { return pad + v/maxX*float64(w-2*pad) }
	y := func(v float64) float64 { return float64(h-pad) - v/maxY*float64(h-2*pad) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`, w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`, pad, h-pad, w-pad, h-pad, pad, pad, pad, h-pad)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, w/2, h-12, esc(c.XLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`, h/2, h/2, esc(c.YLabel))
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end">%.4g</text>`, pad-4, y(v)+4, v)
	}
	ticks := c.XTicks
	if ticks == nil {
		for i := 0; i <= 5; i++ {
			ticks = append(ticks, maxX*float64(i)/5)
		}
	}
	for _, t := range ticks {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">%.4g</text>`, x(t), h-pad+16, t)
	}
	for i, s := range series {
		var path []string
		flush := func() {
			if len(path) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.Colour, strings.Join(path, " "))
			}
			path = path[:0]
		}
		for j := range s.X {
			if s.Y[j] < 0 {
				flush()
				continue
			}
			if s.Step && len(path) > 0 {
				path = append(path, fmt.Sprintf("%.1f,%.1f", x(s.X[j]), y(s.Y[j-1])))
			}
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(s.X[j]), y(s.Y[j])))
		}
		flush()
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`, w-pad-170, pad+16*i, s.Colour, esc(s.Name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
