package main

import (
	"fmt"
	"strings"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/compositor"
)

// pipelineSpec is what the gst-launch pipeline does.
type pipelineSpec struct {
	Mode           string // "shared" or "personal"
	Inputs         []string
	InW, InH       int
	CanvasW        int
	CanvasH        int
	FPS            int
	BitrateBps     int // canvas encoder target
	FPSIntervalMs  int // fpsdisplaysink fps-update-interval
	CompositorThrs int // compositor max-threads (0: GStreamer's auto)
}

// encoders is how many compositor+encoder chains the mode runs.
func (s pipelineSpec) encoders() int {
	if s.Mode == "personal" {
		return len(s.Inputs)
	}
	return 1
}

// vp8encProps mirrors codec/vpx's encoder configuration (encoder.go and
// mcuvpx.c) with the properties vp8enc exposes: realtime deadline, fixed
// speed -8, one-pass CBR with no lookahead, error resilient, no frame
// dropping or resizing, q 2..63, WebRTC-like rate-control buffers, automatic
// keyframes at most every 10 s, intra frames capped like the MCU, one
// thread. One token partition, as the MCU sets, is vp8enc's default
// (token-partitions is not set: its enum nick "1" means value 0, which a
// reader could take for two partitions).
func vp8encProps(fps, bps int) string {
	maxIntra := max(600*fps/20, 300)
	return strings.Join([]string{
		"deadline=1",
		"cpu-used=-8",
		"end-usage=cbr",
		fmt.Sprintf("target-bitrate=%d", bps),
		"error-resilient=default",
		"lag-in-frames=0",
		"threads=1",
		"dropframe-threshold=0",
		"resize-allowed=false",
		"min-quantizer=2",
		"max-quantizer=63",
		"undershoot=100",
		"overshoot=15",
		"buffer-initial-size=500",
		"buffer-optimal-size=600",
		"buffer-size=1000",
		"keyframe-mode=auto",
		fmt.Sprintf("keyframe-max-dist=%d", 10*fps),
		"static-threshold=1",
		"noise-sensitivity=0",
		fmt.Sprintf("max-intra-bitrate=%d", maxIntra),
		"auto-alt-ref=false",
	}, " ")
}

// defaultCanvasBitrate is what the MCU's canvas encoder uses when the room
// sets no bitrate.
func defaultCanvasBitrate(w, h, fps int) int { return codec.DefaultVideoBitrate(w, h, fps) }

// compositorElement returns "compositor name=<name> ..." with every sink
// pad placed where the MCU's grid layout (compositor.Grid, FitContain)
// puts that participant's picture.
func compositorElement(name string, s pipelineSpec) (string, error) {
	regions, err := compositor.Regions(compositor.Grid(), s.CanvasW, s.CanvasH, len(s.Inputs))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "compositor name=%s background=black max-threads=%d", name, s.CompositorThrs)
	for k, r := range regions {
		dst, _ := compositor.ContentRect(r.Rect, s.InW, s.InH, r.Fit)
		fmt.Fprintf(&b, " sink_%d::xpos=%d sink_%d::ypos=%d sink_%d::width=%d sink_%d::height=%d",
			k, dst.X, k, dst.Y, k, dst.W, k, dst.H)
	}
	return b.String(), nil
}

// outputChain is compositor output → canvas caps → vp8enc → a counting sink
// that holds buffers to the clock.
func outputChain(comp, sink string, s pipelineSpec) string {
	return fmt.Sprintf("%s. ! video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1 ! vp8enc name=enc_%s %s ! "+
		"fpsdisplaysink name=%s text-overlay=false video-sink=fakesink sync=true signal-fps-measurements=false fps-update-interval=%d",
		comp, s.CanvasW, s.CanvasH, s.FPS, sink, vp8encProps(s.FPS, s.BitrateBps), sink, s.FPSIntervalMs)
}

// sourceChain reads input k at real-time pace (identity sync=true holds each
// compressed frame until its time, as if it arrived over RTP) and decodes it
// on one thread, like the MCU's decoder.
func sourceChain(k int, path string) string {
	return fmt.Sprintf("filesrc location=%s ! ivfparse ! identity name=pace%d sync=true ! vp8dec threads=1", path, k)
}

// buildPipeline returns the gst-launch-1.0 pipeline description and the
// names of its counting sinks.
//
// shared:   N × (filesrc ! ivfparse ! identity sync ! vp8dec ! queue) → one
//
//	compositor → vp8enc → sink
//
// personal: N × (… ! vp8dec ! tee) → N compositors (each fed by a queue
//
//	from every tee) → N vp8enc → N sinks
func buildPipeline(s pipelineSpec) (string, []string, error) {
	if len(s.Inputs) == 0 {
		return "", nil, fmt.Errorf("no inputs")
	}
	for _, p := range s.Inputs {
		if strings.ContainsAny(p, " \t\n\"'!") {
			return "", nil, fmt.Errorf("input path %q has characters gst-launch would mis-parse", p)
		}
	}
	var parts, sinks []string
	switch s.Mode {
	case "shared":
		c, err := compositorElement("comp", s)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, c)
		sinks = append(sinks, "out0")
		parts = append(parts, outputChain("comp", "out0", s))
		for k, p := range s.Inputs {
			parts = append(parts, fmt.Sprintf("%s ! queue ! comp.sink_%d", sourceChain(k, p), k))
		}
	case "personal":
		for j := range s.Inputs {
			c, err := compositorElement(fmt.Sprintf("comp%d", j), s)
			if err != nil {
				return "", nil, err
			}
			parts = append(parts, c)
			sink := fmt.Sprintf("out%d", j)
			sinks = append(sinks, sink)
			parts = append(parts, outputChain(fmt.Sprintf("comp%d", j), sink, s))
		}
		for k, p := range s.Inputs {
			parts = append(parts, fmt.Sprintf("%s ! tee name=t%d", sourceChain(k, p), k))
			for j := range s.Inputs {
				parts = append(parts, fmt.Sprintf("t%d. ! queue ! comp%d.sink_%d", k, j, k))
			}
		}
	default:
		return "", nil, fmt.Errorf("unknown mode %q (want shared or personal)", s.Mode)
	}
	return strings.Join(parts, "  "), sinks, nil
}
