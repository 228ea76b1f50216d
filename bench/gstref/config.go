package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mcu-project/mcu/compositor"
)

type config struct {
	mode             string
	n                int
	inW, inH         int
	canvasW, canvasH int
	fps              int
	d, settle        time.Duration
	json, verbose    bool
	inBitrate        int
	bitrate          int
	compThreads      int
	keepInputs       string
	gstLaunch        string
	startupTimeout   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("gstref", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.mode, "mode", "shared", "shared: one compositor+encoder for the room; personal: one per participant")
	fs.IntVar(&c.n, "n", 4, "participants (cameras), 1..16")
	in := fs.String("in", "640x360", "camera size WIDTHxHEIGHT")
	canvas := fs.String("canvas", "1280x720", "canvas (output) size WIDTHxHEIGHT")
	fs.IntVar(&c.fps, "fps", 30, "camera and canvas frame rate")
	fs.DurationVar(&c.d, "d", 30*time.Second, "measurement duration (after -settle)")
	fs.DurationVar(&c.settle, "settle", 2*time.Second, "time between the pipeline running and the measurement starting")
	fs.BoolVar(&c.json, "json", false, "print one JSON line (progress goes to stderr only with -v)")
	fs.BoolVar(&c.verbose, "v", false, "log progress and the pipeline to stderr even with -json")
	quick := fs.Bool("quick", false, "smoke test: -d 3s, 320x180 cameras, 640x360 canvas (unless those flags are given)")
	fs.IntVar(&c.inBitrate, "in-bitrate", 300000, "camera bitrate in b/s (the load generator's clients send 300 kb/s)")
	fs.IntVar(&c.bitrate, "bitrate", 0, "canvas encoder target in b/s (0: the MCU's default for the canvas, codec.DefaultVideoBitrate)")
	fs.IntVar(&c.compThreads, "compositor-threads", 1, "GStreamer compositor max-threads (the MCU composes each canvas on one goroutine; 0: auto)")
	fs.StringVar(&c.keepInputs, "keep-inputs", "", "write the camera IVF files into this directory and keep them (default: a temporary directory, removed)")
	fs.StringVar(&c.gstLaunch, "gst-launch", "gst-launch-1.0", "gst-launch-1.0 executable")
	fs.DurationVar(&c.startupTimeout, "startup-timeout", 60*time.Second, "how long the pipeline may take to produce its first output frames")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *quick {
		if !set["d"] {
			c.d = 3 * time.Second
		}
		if !set["in"] {
			*in = "320x180"
		}
		if !set["canvas"] {
			*canvas = "640x360"
		}
	}
	var err error
	if c.inW, c.inH, err = parseSize(*in); err != nil {
		return nil, fmt.Errorf("-in: %w", err)
	}
	if c.canvasW, c.canvasH, err = parseSize(*canvas); err != nil {
		return nil, fmt.Errorf("-canvas: %w", err)
	}
	switch {
	case c.mode != "shared" && c.mode != "personal":
		return nil, fmt.Errorf("-mode %q: want shared or personal", c.mode)
	case c.n < 1 || c.n > compositor.MaxGridTiles:
		return nil, fmt.Errorf("-n %d: want 1..%d", c.n, compositor.MaxGridTiles)
	case c.fps < 1 || c.fps > 120:
		return nil, fmt.Errorf("-fps %d: want 1..120", c.fps)
	case c.d <= 0 || c.settle < 0:
		return nil, fmt.Errorf("-d must be positive and -settle not negative")
	case c.inBitrate <= 0 || c.bitrate < 0:
		return nil, fmt.Errorf("-in-bitrate must be positive and -bitrate not negative")
	case c.compThreads < 0:
		return nil, fmt.Errorf("-compositor-threads must not be negative")
	}
	if c.bitrate == 0 {
		c.bitrate = defaultCanvasBitrate(c.canvasW, c.canvasH, c.fps)
	}
	return &c, nil
}

// parseSize parses WIDTHxHEIGHT (even, 16..4096: the compositor and VP8
// want even sizes).
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(ws)
		if err == nil {
			h, err = strconv.Atoi(hs)
		}
	}
	if !ok || err != nil || w < 16 || h < 16 || w > 4096 || h > 4096 || w%2 != 0 || h%2 != 0 {
		return 0, 0, fmt.Errorf("bad size %q (want even WIDTHxHEIGHT, 16..4096)", s)
	}
	return w, h, nil
}

func sizeString(w, h int) string { return fmt.Sprintf("%dx%d", w, h) }
