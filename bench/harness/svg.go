package main

import (
	"fmt"
	"strings"
)

// point is one N of the CPU-per-participant plot.
type point struct {
	n                 int
	mcu, floor, janus float64
}

// svgPlot draws CPU-seconds per participant-minute against participants
// for the mcu, the codec floor and Janus (when measured).
func svgPlot(pts []point) string {
	const w, h, pad = 640, 360, 50
	maxN, maxY := 1, 0.0
	for _, p := range pts {
		maxN = max(maxN, p.n)
		maxY = max(maxY, p.mcu, p.floor, p.janus)
	}
	maxY *= 1.15
	x := func(n int) float64 { return pad + float64(n)/float64(maxN)*(w-2*pad) }
	y := func(v float64) float64 { return h - pad - v/maxY*(h-2*pad) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`, w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`, pad, h-pad, w-pad, h-pad, pad, pad, pad, h-pad)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">participants</text>`, w/2, h-12)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">CPU-s per participant-minute</text>`, h/2, h/2)
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.0f" text-anchor="end">%.2f</text>`, pad-4, y(v)+4, v)
	}
	for _, p := range pts {
		fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">%d</text>`, x(p.n), h-pad+16, p.n)
	}
	series := []struct {
		name, colour string
		v            func(point) float64
	}{{"mcu", "#2a6", func(p point) float64 { return p.mcu }}, {"codec floor", "#888", func(p point) float64 { return p.floor }}, {"Janus AudioBridge", "#c33", func(p point) float64 { return p.janus }}}
	for i, s := range series {
		var path []string
		for _, p := range pts {
			if v := s.v(p); v > 0 {
				path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.n), y(v)))
			}
		}
		if len(path) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.colour, strings.Join(path, " "))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s</text>`, w-pad-150, pad+16*i, s.colour, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}
