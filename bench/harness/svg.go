package main

import "github.com/mcu-project/mcu/internal/svgplot"

// point is one N of the CPU-per-participant plot.
type point struct {
	n                 int
	mcu, floor, janus float64
}

// svgPlot draws CPU-seconds per participant-minute against participants
// for the mcu, the codec floor and Janus (when measured).
func svgPlot(pts []point) string {
	var ticks []float64
	series := []svgplot.Series{{Name: "mcu", Colour: "#2a6"}, {Name: "codec floor", Colour: "#888"}, {Name: "Janus AudioBridge", Colour: "#c33"}}
	for _, p := range pts {
		ticks = append(ticks, float64(p.n))
		for i, v := range []float64{p.mcu, p.floor, p.janus} {
			if v > 0 {
				series[i].X = append(series[i].X, float64(p.n))
				series[i].Y = append(series[i].Y, v)
			}
		}
	}
	return svgplot.Line(svgplot.Chart{XLabel: "participants", YLabel: "CPU-s per participant-minute", XTicks: ticks}, series)
}
