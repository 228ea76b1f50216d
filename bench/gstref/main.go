// Command gstref is a reference for the video benchmark: it makes GStreamer
// do the video job of one MCU room — decode N VP8 cameras, composite them on
// the MCU's grid, encode VP8 with the MCU's encoder settings — at real-time
// pace, and reports the CPU gst-launch-1.0 used, so the MCU's figure from
// `make bench-video` can be read side by side with it.
//
//	go run ./bench/gstref -mode shared -n 4 -in 640x360 -canvas 1280x720 -fps 30 -d 30s -json
//	go run ./bench/gstref -mode personal ...   # one compositor+encoder per participant
//	go run ./bench/gstref -quick -json         # 3 s on a small canvas (smoke test)
//
// The cameras are encoded once, before the run, with the MCU's own encoder
// (codec/vpx) at the bitrate the load generator's clients send, into IVF
// files in a temporary directory. GStreamer reads them paced by the clock
// (identity sync=true), decodes on one thread, composites with the grid
// geometry of package compositor, encodes, and counts the output frames in
// fpsdisplaysink (parsed from gst-launch -v). CPU is utime+stime of the
// gst-launch process over -d, after a settle time.
//
// GStreamer is installed with apt-get when missing and running as root.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "gstref: interrupted:", err)
		os.Exit(130)
	case err != nil:
		msg := err.Error()
		fmt.Fprintln(os.Stderr, "gstref:", msg)
		if first, _, multi := strings.Cut(msg, "\n"); multi {
			// Callers that keep only the last line (bench/harness) get
			// the summary.
			fmt.Fprintln(os.Stderr, "gstref:", first)
		}
		os.Exit(1)
	}
}

// Result is the JSON line gstref prints with -json.
type Result struct {
	Impl         string `json:"impl"`
	Mode         string `json:"mode"`
	Participants int    `json:"participants"`
	In           string `json:"in"`
	Canvas       string `json:"canvas"`
	FPS          int    `json:"fps"`
	// DurationS is the measured wall-clock window.
	DurationS float64 `json:"duration_s"`
	// CPUSeconds is gst-launch's utime+stime over the window.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerMediaSecond is CPUSeconds per second of output video produced
	// (by the slowest output): CPUSeconds/DurationS when real-time was kept.
	CPUPerMediaSecond float64 `json:"cpu_per_media_second"`
	// OutFPS is the slowest output's encoded frame rate over the window.
	OutFPS float64 `json:"out_fps"`
	// Realtime is OutFPS ≥ FPS − 0.5.
	Realtime bool `json:"realtime"`
	// OtherCPUSeconds is the CPU the rest of the machine used over the
	// window (all CPUs busy time minus gst-launch's): a measurement taken
	// while other work competed for Cores is less trustworthy.
	OtherCPUSeconds float64 `json:"other_cpu_seconds"`
	Cores           int     `json:"cores"`
	// Encoders is how many compositor+encoder chains ran.
	Encoders   int    `json:"encoders"`
	BitrateBps int    `json:"bitrate_bps"`
	GstVersion string `json:"gst_version"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) {
		if cfg.verbose || !cfg.json {
			fmt.Fprintf(stderr, "gstref: "+format+"\n", a...)
		}
	}
	gst, version, err := ensureGStreamer(ctx, cfg.gstLaunch, logf)
	if err != nil {
		return err
	}
	res, err := measure(ctx, cfg, gst, version, logf)
	if err != nil {
		return err
	}
	if cfg.json {
		line, err := json.Marshal(res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", line)
		return err
	}
	fmt.Fprintf(stdout, "gstreamer %s %s: %d × %s → %s@%d, %d encoder(s) at %d b/s\n",
		res.GstVersion, res.Mode, res.Participants, res.In, res.Canvas, res.FPS, res.Encoders, res.BitrateBps)
	fmt.Fprintf(stdout, "CPU: %.2f s over %.1f s = %.1f %% of one core; %.3f CPU-s per media second\n",
		res.CPUSeconds, res.DurationS, 100*res.CPUSeconds/res.DurationS, res.CPUPerMediaSecond)
	rt := "kept real time"
	if !res.Realtime {
		rt = "FELL BEHIND real time"
	}
	fmt.Fprintf(stdout, "output: %.2f fps (slowest output), %s\n", res.OutFPS, rt)
	fmt.Fprintf(stdout, "rest of the machine: %.2f CPU-s over the window (%d cores)\n", res.OtherCPUSeconds, res.Cores)
	return nil
}
