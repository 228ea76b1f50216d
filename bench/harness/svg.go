package main

import (
	"slices"

	"github.com/mcu-project/mcu/internal/testkit/svgplot"
)

// point is one N of the CPU-per-participant plot.
type point struct {
	n                 int
	mcu, floor, janus float64
}

// latencyPlot draws the cumulative distribution of onset latencies: the
// share of onsets heard within x ms, for the mcu and Janus (when measured).
func latencyPlot(mcu, janus []float64) string {
	var series []svgplot.Series
	for _, s := range []struct {
		name, colour string
		ms           []float64
	}{{"mcu", "#2a6", mcu}, {"Janus AudioBridge", "#c33", janus}} {
		if len(s.ms) == 0 {
			continue
		}
		ms := slices.Clone(s.ms)
		slices.Sort(ms)
		ser := svgplot.Series{Name: s.name, Colour: s.colour, Step: true}
		for i, v := range ms {
			ser.X = append(ser.X, v)
			ser.Y = append(ser.Y, float64(i+1)/float64(len(ms)))
		}
		series = append(series, ser)
	}
	return svgplot.Line(svgplot.Chart{XLabel: "onset latency (ms)", YLabel: "share of onsets heard"}, series)
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
