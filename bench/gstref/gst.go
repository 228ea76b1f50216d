package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcu-project/mcu/bench/internal/proc"
)

// debPackages are the Debian 12 packages providing gst-launch-1.0 and the
// elements the pipeline uses (ivfparse and fpsdisplaysink are in -bad,
// vp8enc/vp8dec in -good, compositor in -base).
var debPackages = []string{"gstreamer1.0-tools", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad"}

// gstElements are the elements the pipeline needs.
var gstElements = []string{"filesrc", "ivfparse", "identity", "vp8dec", "queue", "tee", "compositor", "vp8enc", "fpsdisplaysink", "fakesink"}

// ensureGStreamer finds gst-launch (installing the Debian packages when it
// or an element is missing and we are root) and returns its path and the
// GStreamer version.
func ensureGStreamer(ctx context.Context, launch string, logf func(string, ...any)) (string, string, error) {
	missing := checkGStreamer(ctx, launch)
	if len(missing) > 0 {
		if os.Geteuid() != 0 {
			return "", "", fmt.Errorf("GStreamer is missing %s; install it with: sudo apt-get install -y %s",
				strings.Join(missing, ", "), strings.Join(debPackages, " "))
		}
		logf("GStreamer is missing %s: installing %s", strings.Join(missing, ", "), strings.Join(debPackages, " "))
		if err := aptInstall(ctx, debPackages); err != nil {
			return "", "", err
		}
		if missing = checkGStreamer(ctx, launch); len(missing) > 0 {
			return "", "", fmt.Errorf("GStreamer still missing %s after installing %s", strings.Join(missing, ", "), strings.Join(debPackages, " "))
		}
	}
	path, err := exec.LookPath(launch)
	if err != nil {
		return "", "", err
	}
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("%s --version: %w: %s", path, err, tail(string(out), 5))
	}
	version := "unknown"
	if m := regexp.MustCompile(`(?m)^GStreamer (\S+)`).FindStringSubmatch(string(out)); m != nil {
		version = m[1]
	}
	return path, version, nil
}

// checkGStreamer returns what is missing: the gst-launch executable,
// gst-inspect-1.0, or elements.
func checkGStreamer(ctx context.Context, launch string) []string {
	var missing []string
	if _, err := exec.LookPath(launch); err != nil {
		missing = append(missing, launch)
	}
	inspect, err := exec.LookPath("gst-inspect-1.0")
	if err != nil {
		return append(missing, "gst-inspect-1.0")
	}
	for _, e := range gstElements {
		if exec.CommandContext(ctx, inspect, "--exists", e).Run() != nil {
			missing = append(missing, "element "+e)
		}
	}
	return missing
}

func aptInstall(ctx context.Context, pkgs []string) error {
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	// Wait for another apt/dpkg rather than fail on its lock.
	lock := []string{"-o", "DPkg::Lock::Timeout=600"}
	steps := [][]string{
		append([]string{"update", "-qq"}, lock...),
		append(append([]string{"install", "-y", "-qq", "--no-install-recommends"}, lock...), pkgs...),
	}
	for _, a := range steps {
		cmd := exec.CommandContext(ctx, "apt-get", a...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", strings.Join(a, " "), err, tail(string(out), 10))
		}
	}
	return nil
}

// fpsLine matches fpsdisplaysink's last-message as gst-launch -v prints it.
var fpsLine = regexp.MustCompile(`GstFPSDisplaySink:(\w+): last-message = rendered: (\d+), dropped: (\d+)`)

// sample is a counting sink's latest report.
type sample struct {
	frames int
	at     time.Time
}

// gstProcess is a running gst-launch-1.0 with its output parsed.
type gstProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, valid once exited is closed

	mu      sync.Mutex
	samples map[string]sample
	lines   []string // last output lines (stdout and stderr), for errors
}

const tailLines = 40

func (g *gstProcess) addLine(stream, line string) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if m := fpsLine.FindStringSubmatch(line); m != nil {
		n, _ := strconv.Atoi(m[2])
		g.samples[m[1]] = sample{frames: n, at: now}
		return // not kept in the tail: they would push out the errors
	}
	g.lines = append(g.lines, stream+line)
	if len(g.lines) > tailLines {
		g.lines = g.lines[len(g.lines)-tailLines:]
	}
}

func (g *gstProcess) tail() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return strings.Join(g.lines, "\n")
}

func (g *gstProcess) snapshot() map[string]sample {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := make(map[string]sample, len(g.samples))
	for k, v := range g.samples {
		m[k] = v
	}
	return m
}

// lineWriter calls fn for each complete line written to it.
type lineWriter struct {
	buf []byte
	fn  func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line: keep its start
		w.fn(string(w.buf[:4096]) + "…")
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func startGst(path, pipeline string) (*gstProcess, error) {
	g := &gstProcess{exited: make(chan struct{}), samples: map[string]sample{}}
	// gst-launch escapes the spaces inside each argument, so the description
	// goes in as separate words (input paths have no spaces: checked).
	args := append([]string{"-v"}, strings.Fields(pipeline)...)
	g.cmd = exec.Command(path, args...)
	g.cmd.Stdout = &lineWriter{fn: func(l string) { g.addLine("", l) }}
	g.cmd.Stderr = &lineWriter{fn: func(l string) { g.addLine("stderr: ", l) }}
	g.cmd.Env = append(os.Environ(), "GST_DEBUG_NO_COLOR=1")
	// Our own process group, so a terminal's Ctrl-C reaches gstref, which
	// then stops gst-launch itself; killed with us if we die.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() {
		g.err = g.cmd.Wait()
		close(g.exited)
	}()
	return g, nil
}

// stop interrupts gst-launch (it then sets the pipeline to NULL and exits)
// and kills it if it has not exited within a grace period.
func (g *gstProcess) stop() {
	select {
	case <-g.exited:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-g.exited:
	case <-time.After(10 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
}

// failed describes gst-launch having exited before the measurement ended.
// The first line carries gst-launch's first error message.
func (g *gstProcess) failed(when string) error {
	t := g.tail()
	first := "no error message"
	for _, l := range strings.Split(t, "\n") {
		if i := strings.Index(l, "ERROR:"); i >= 0 {
			first = l[i:]
			break
		}
	}
	return fmt.Errorf("pipeline failed %s (gst-launch: %v): %s\n--- gst-launch output (tail) ---\n%s", when, g.err, first, t)
}

// measure prepares the inputs, runs the pipeline and measures it.
func measure(ctx context.Context, c *config, gst, version string, logf func(string, ...any)) (*Result, error) {
	tmp, err := os.MkdirTemp("", "gstref-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dir := tmp
	if c.keepInputs != "" {
		if dir, err = filepath.Abs(c.keepInputs); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	// Enough media for the start-up, settle and measurement plus slack:
	// the pipeline's clock starts when it reaches PLAYING; running out of
	// input ends it (EOS) and is reported as a failure.
	media := c.settle + c.d + 8*time.Second
	frames := int(math.Ceil(media.Seconds() * float64(c.fps)))
	logf("encoding %d × %d frames of %dx%d@%d VP8 at %d b/s into %s", c.n, frames, c.inW, c.inH, c.fps, c.inBitrate, dir)
	t := time.Now()
	inputs, err := prepareInputs(ctx, dir, inputSpec{N: c.n, W: c.inW, H: c.inH, FPS: c.fps, Frames: frames, BitrateBps: c.inBitrate})
	if err != nil {
		return nil, err
	}
	logf("inputs ready in %.1f s", time.Since(t).Seconds())

	spec := pipelineSpec{
		Mode: c.mode, Inputs: inputs, InW: c.inW, InH: c.inH,
		CanvasW: c.canvasW, CanvasH: c.canvasH, FPS: c.fps, BitrateBps: c.bitrate,
		FPSIntervalMs: 250, CompositorThrs: c.compThreads,
	}
	pipeline, sinks, err := buildPipeline(spec)
	if err != nil {
		return nil, err
	}
	logf("pipeline: %s -v %s", gst, pipeline)
	g, err := startGst(gst, pipeline)
	if err != nil {
		return nil, err
	}
	defer g.stop()

	// Running: every sink has counted frames.
	startup := time.NewTimer(c.startupTimeout)
	defer startup.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for running := false; !running; {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-g.exited:
			return nil, g.failed("starting")
		case <-startup.C:
			return nil, fmt.Errorf("pipeline produced no output within %v\n--- gst-launch output (tail) ---\n%s", c.startupTimeout, g.tail())
		case <-tick.C:
			s := g.snapshot()
			running = len(s) == len(sinks)
		}
	}
	logf("running; settling for %v, then measuring for %v", c.settle, c.d)
	wait := func(d time.Duration, when string) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-g.exited:
			return g.failed(when)
		case <-time.After(d):
			return nil
		}
	}
	if err := wait(c.settle, "while settling"); err != nil {
		return nil, err
	}
	pid := g.cmd.Process.Pid
	cpu0, err := proc.CPUSeconds(pid)
	if err != nil {
		return nil, err
	}
	sys0, _ := machineBusySeconds()
	t0, s0 := time.Now(), g.snapshot()
	if err := wait(c.d, "while measuring"); err != nil {
		return nil, err
	}
	cpu1, err := proc.CPUSeconds(pid)
	if err != nil {
		return nil, err
	}
	sys1, _ := machineBusySeconds()
	t1, s1 := time.Now(), g.snapshot()
	g.stop()

	elapsed := t1.Sub(t0).Seconds()
	outFPS := math.Inf(1)
	for _, name := range sinks {
		outFPS = min(outFPS, sinkRate(s0[name], s1[name], t1, 250*time.Millisecond))
	}
	used := cpu1 - cpu0
	mediaSeconds := outFPS * elapsed / float64(c.fps)
	perMedia := math.Inf(1)
	if mediaSeconds > 0 {
		perMedia = used / mediaSeconds
	}
	return &Result{
		Impl: "gstreamer", Mode: c.mode, Participants: c.n,
		In: sizeString(c.inW, c.inH), Canvas: sizeString(c.canvasW, c.canvasH), FPS: c.fps,
		DurationS:         round(elapsed, 3),
		CPUSeconds:        round(used, 3),
		CPUPerMediaSecond: round(perMedia, 4),
		OutFPS:            round(outFPS, 2),
		Realtime:          outFPS >= float64(c.fps)-0.5,
		OtherCPUSeconds:   round(max(sys1-sys0-used, 0), 2),
		Cores:             runtime.NumCPU(),
		Encoders:          spec.encoders(),
		BitrateBps:        c.bitrate,
		GstVersion:        version,
	}, nil
}

// sinkRate is a sink's frame rate between two reports, timed by when the
// reports arrived (fpsdisplaysink reports on the first frame after each
// interval, so the arrival time is that frame's). A sink that stopped
// reporting well before the end of the window has stalled: the window's end
// is used instead.
func sinkRate(a, b sample, end time.Time, interval time.Duration) float64 {
	if b.at.IsZero() || a.at.IsZero() || !b.at.After(a.at) {
		return 0
	}
	stop := b.at
	if end.Sub(b.at) > 2*interval+500*time.Millisecond {
		stop = end
	}
	return float64(b.frames-a.frames) / stop.Sub(a.at).Seconds()
}

func round(x float64, digits int) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return -1
	}
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// machineBusySeconds returns the CPU time all CPUs have spent busy (not
// idle or waiting for I/O) since boot, from /proc/stat.
func machineBusySeconds() (float64, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("unexpected /proc/stat format")
	}
	var busy float64
	// user nice system idle iowait irq softirq steal
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, errors.New("unexpected /proc/stat fields")
		}
		busy += x
	}
	return busy / 100, nil
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
