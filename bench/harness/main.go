// Command harness runs the benchmark scenarios against a freshly started mcu
// (load from this separate process, over real loopback WebRTC, or as plain
// RTP legs in the "plain RTP" rows, as Janus's participants are), alternates
// them in short slices with the references — the raw codec floor timed in
// process, and, when asked, Janus AudioBridge and GStreamer — repeats the
// pairs, and writes bench/results/<date>/report.md with medians, ratios and
// an SVG plot. This machine's speed swings between runs: only ratios from
// one run mean anything.
//
//	go run ./bench/harness            # the full run (make bench-full)
//	go run ./bench/harness -quick     # seconds: checks the harness works
//	go run ./bench/harness -refs janus,gst
//	go run ./bench/harness -only capacity -pairs 0   # only the capacity searches
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcu-project/mcu/bench/internal/proc"
	"github.com/mcu-project/mcu/bench/load"
	"github.com/mcu-project/mcu/codec/opus"
)

// scenario is one measured situation.
type scenario struct {
	name     string
	n        int
	talkers  int    // -1: everyone
	video    string // camera size; "" audio only
	canvas   string // mcu -canvas
	exclude  bool   // exclude_self (personal views)
	codecs   []string
	latency  bool
	janus    bool // compare with Janus AudioBridge (same N, talkers)
	rtp      bool // the load joins as plain-RTP audio legs (like janusref), not WebRTC
	gstMode  string
	videoDec int // codec floor: decodes (camera size), encodes (canvas) per frame
	videoEnc int
	// audioCodecs: the plain-RTP legs' codecs, in turn (default opus).
	audioCodecs []string
	// rooms of n participants each (0: one); the capacity searches grow it.
	rooms int
	// cheapVideo: the load replays pre-encoded cameras and counts the
	// composites it receives without decoding them, so it can fill many
	// rooms from the same 2 cores as the mcu.
	cheapVideo bool
}

func scenarios(quick bool) []scenario {
	if quick {
		return []scenario{{name: "audio N=2 (quick)", n: 2, talkers: -1, latency: true}}
	}
	var out []scenario
	sizes := []int{4, 8, 16, 32}
	for _, n := range sizes {
		out = append(out, scenario{name: fmt.Sprintf("audio N=%d, all talking", n), n: n, talkers: -1, janus: true})
	}
	out = append(out, scenario{name: "audio N=50, 3 talking", n: 50, talkers: 3, janus: true})
	// Janus's participants are plain RTP: these rows compare like with like.
	for _, n := range sizes {
		out = append(out, scenario{name: fmt.Sprintf("audio N=%d, all talking, plain RTP", n), n: n, talkers: -1, rtp: true, janus: true})
	}
	out = append(out,
		scenario{name: "audio N=50, 3 talking, plain RTP", n: 50, talkers: 3, rtp: true, janus: true},
		// Phones behind a SIP gateway next to Opus legs: every PCMU
		// listener's mix is transcoded (Janus's participants here are
		// Opus only, so no reference).
		scenario{name: "audio N=8, all talking, Opus + PCMU, plain RTP", n: 8, talkers: -1, rtp: true, audioCodecs: []string{"opus", "PCMU"}},
		// Participant 0's tone comes and goes; the others talk all the
		// time (cross-talk), or listen (turn-taking: a pause in a speech).
		scenario{name: "audio latency N=3, all talking", n: 3, talkers: -1, latency: true, janus: true},
		scenario{name: "audio latency N=3, one talking", n: 3, talkers: 1, latency: true, janus: true},
		scenario{name: "video 4x 640x360@30, shared canvas 1280x720", n: 4, talkers: 1, video: "640x360", canvas: "1280x720@30", gstMode: "shared", videoDec: 4, videoEnc: 1},
		scenario{name: "video 4x 640x360@30, exclude_self", n: 4, talkers: 1, video: "640x360", canvas: "1280x720@30", exclude: true, gstMode: "personal", videoDec: 4, videoEnc: 4},
		scenario{name: "video mixed VP8+H264, 4x 640x360@30", n: 4, talkers: 1, video: "640x360", canvas: "1280x720@30", codecs: []string{"VP8", "H264"}, videoDec: 4, videoEnc: 2},
	)
	return out
}

// janusWebRTC: the scenario's Janus reference has WebRTC participants, as
// the mcu's load has (plain RTP in the plain-RTP rows; the latency rows
// keep plain RTP, whose run measures Janus's latency).
func (s scenario) janusWebRTC() bool { return s.janus && !s.rtp && !s.latency }

// row is one scenario's measurements, and its mcu profile.
type row struct {
	s                   scenario
	mcu, floor, jan, gs measurement
	prof                profiled
}

// measurement is one system's median over the pairs.
type measurement struct {
	cpuPerSecond []float64 // CPU-seconds per media-second
	outputOK     []bool
	latencyMs    []float64 // audio onsets
	// videoLatencyMs: camera frames, from sending to the composite that
	// shows them.
	videoLatencyMs []float64
	note           string
	// The mcu's own figures per slice: its mix ticks' lateness (p50, p99,
	// the share over 5 ms) and its resident size at the end.
	tickP50, tickP99, lateShare, rssMiB []float64
	// loss: the worst participant's share of the mcu's packets lost.
	loss []float64
	// fpsMin: the slowest video output's frames per second.
	fpsMin []float64
	// opusModes: the Opus packets the participants received, by mode
	// (SILK-only, hybrid, CELT-only), over all slices.
	opusModes [3]int64
}

// addModes counts one slice's Opus packets by mode.
func (m *measurement) addModes(modes [3]int64) {
	for i, n := range modes {
		m.opusModes[i] += n
	}
}

// hybridCell is the share of the Opus packets received that were hybrid
// ("–" without any): libopus encodes a hybrid frame in about 4× the time
// of a CELT-only one (BenchmarkOpusModes), so this share decides much of
// an audio row's codec cost.
func (m measurement) hybridCell() string {
	all := m.opusModes[0] + m.opusModes[1] + m.opusModes[2]
	if all == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", 100*float64(m.opusModes[1])/float64(all))
}

// add records one mcu slice's figures.
func (m *measurement) add(s scenario, r load.Result) {
	m.cpuPerSecond = append(m.cpuPerSecond, r.CPUSeconds/r.Duration.Seconds())
	// Checked where someone hears talk all the time, or video.
	if r.AudioRated > 0 || s.video != "" {
		m.outputOK = append(m.outputOK, outputsAtRate(s, r))
	}
	m.latencyMs = append(m.latencyMs, r.LatencyMs...)
	m.videoLatencyMs = append(m.videoLatencyMs, r.VideoLatencyMs...)
	m.tickP50 = append(m.tickP50, r.TickLateP50Ms)
	m.tickP99 = append(m.tickP99, r.TickLateP99Ms)
	m.lateShare = append(m.lateShare, r.LateTickShare)
	m.rssMiB = append(m.rssMiB, float64(r.RSSBytes)/(1<<20))
	m.addModes(r.OpusModes)
	m.loss = append(m.loss, max(r.AudioLossMax, r.VideoLossMax))
	if s.video != "" {
		m.fpsMin = append(m.fpsMin, r.VideoFPSMin)
	}
}

// outputsAtRate: every participant who hears talk all the time gets 49+
// audio packets/s (of 50), and every video output 29.5+ frames/s.
func outputsAtRate(s scenario, r load.Result) bool {
	return (r.AudioRated == 0 || r.AudioPPSMin >= 49) && (s.video == "" || r.VideoFPSMin >= 29.5)
}

func main() {
	quick := flag.Bool("quick", false, "a few seconds: small N, one pair, no references, no profiles")
	profiles := flag.Bool("profiles", true, "sample the mcu with perf in one extra slice per scenario (needs perf: Debian linux-perf)")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	out := flag.String("out", filepath.Join("bench", "results", time.Now().Format("2006-01-02")), "report directory")
	pairs := flag.Int("pairs", 5, "repetitions of each (mcu, reference) pair")
	slice := flag.Duration("d", 15*time.Second, "length of one measured slice")
	refs := flag.String("refs", "", "references besides the codec floor: janus, gst (comma-separated)")
	mcuBin := flag.String("mcu", "", "mcu binary (default: build ./cmd/mcu)")
	capacity := flag.Bool("capacity", true, "search the largest room and the most rooms the mcu holds (-only matches \"capacity: <name>\")")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *quick, *out, *pairs, *slice, *refs, *mcuBin, *only, *profiles && !*quick, *capacity); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, quick bool, outDir string, pairs int, slice time.Duration, refs, mcuBin, only string, profiles, capacity bool) error {
	if quick {
		pairs, slice, refs = 1, 2*time.Second, ""
	}
	if mcuBin == "" {
		mcuBin = filepath.Join(os.TempDir(), "mcu-bench")
		fmt.Fprintln(w, "building ./cmd/mcu ...")
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", mcuBin, "./cmd/mcu").CombinedOutput(); err != nil {
			return fmt.Errorf("build mcu: %v\n%s", err, b)
		}
	}
	useJanus, useGst := strings.Contains(refs, "janus"), strings.Contains(refs, "gst")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	var rows []row
	for _, s := range scenarios(quick) {
		if !strings.Contains(s.name, only) {
			continue
		}
		r := row{s: s}
		for p := range pairs {
			fmt.Fprintf(w, "[%s] pair %d/%d: mcu ...\n", s.name, p+1, pairs)
			m, err := runMCU(ctx, mcuBin, s, slice, nil)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			r.mcu.add(s, m)
			fmt.Fprintf(w, "[%s] pair %d/%d: codec floor ...\n", s.name, p+1, pairs)
			r.floor.cpuPerSecond = append(r.floor.cpuPerSecond, floorFor(s))
			if useJanus && s.janus {
				fmt.Fprintf(w, "[%s] pair %d/%d: janus ...\n", s.name, p+1, pairs)
				// The Opus settings the room's encoders have: quality 9
				// is the complexity libopus gives them, and the bitrate
				// theirs (left to itself, libopus picks 51 kb/s for
				// Janus, which cost less CPU on the steady tones the
				// load sent before its voices than 40 kb/s:
				// BenchmarkAudioFloor).
				args := []string{"-n", fmt.Sprint(s.n), "-talkers", fmt.Sprint(s.talkers), "-quality", "9",
					"-bitrate", fmt.Sprint(opus.DefaultBitrate), "-d", slice.String(), "-json"}
				if s.janusWebRTC() {
					args = append(args, "-webrtc")
				}
				if !s.latency {
					// Every talker talks, as the mcu's load does: no
					// participant 0 toggling a tone.
					args = append(args, "-latency=false")
				}
				jr, err := runRef(ctx, "./bench/janusref", args...)
				if err != nil {
					r.jan.note = err.Error()
				} else {
					r.jan.cpuPerSecond = append(r.jan.cpuPerSecond, jr.CPUSeconds/jr.DurationS)
					r.jan.outputOK = append(r.jan.outputOK, jr.OutPPSMin >= 49)
					r.jan.latencyMs = append(r.jan.latencyMs, jr.LatenciesMs...)
					r.jan.addModes(jr.OpusModes)
				}
			}
			if useGst && s.gstMode != "" {
				fmt.Fprintf(w, "[%s] pair %d/%d: gstreamer ...\n", s.name, p+1, pairs)
				canvas, _, _ := strings.Cut(s.canvas, "@")
				gr, err := runRef(ctx, "./bench/gstref", "-mode", s.gstMode, "-n", fmt.Sprint(s.n), "-in", s.video, "-canvas", canvas, "-fps", "30", "-d", slice.String(), "-json")
				if err != nil {
					r.gs.note = err.Error()
				} else {
					r.gs.cpuPerSecond = append(r.gs.cpuPerSecond, gr.CPUSeconds/gr.DurationS)
					r.gs.outputOK = append(r.gs.outputOK, gr.OutFPS >= 29.5)
				}
			}
		}
		if profiles {
			// A slice of its own: profiling costs the mcu a little CPU,
			// which the measured slices must not pay.
			fmt.Fprintf(w, "[%s] profile slice ...\n", s.name)
			p, err := profileScenario(ctx, mcuBin, s, slice, outDir)
			if err != nil {
				fmt.Fprintf(w, "[%s] no profile: %v\n", s.name, err)
			} else {
				fmt.Fprintf(w, "[%s] profiled: mcu CPU %.3f, outputs at rate: %v\n", s.name, p.cpu, p.atRate)
			}
			r.prof = p
		}
		rows = append(rows, r)
	}

	var capResults []capacityResult
	for _, c := range capacities(quick) {
		if !capacity || !strings.Contains("capacity: "+c.name, only) {
			continue
		}
		cr, err := search(ctx, w, mcuBin, c, slice)
		if err != nil {
			return fmt.Errorf("capacity: %s: %w", c.name, err)
		}
		capResults = append(capResults, cr)
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# MCU benchmark report\n\n%s, %d pair(s) of %v slices per scenario, medians; load from a separate process over loopback WebRTC (plain RTP legs in the \"plain RTP\" rows). Janus AudioBridge's participants have the mcu's transport: WebRTC peers (bench/load's pion clients, Janus in a network namespace of its own) in the WebRTC rows, plain RTP in the plain-RTP and latency rows; its encoders have the mcu's Opus complexity and bitrate. CPU is CPU-seconds per media-second of the measured process (1.0 = one core busy).\n\n", time.Now().Format(time.RFC1123), pairs, slice)
	md.WriteString("| scenario | mcu CPU | codec floor | mcu / floor | Janus | mcu / Janus | GStreamer | mcu / GStreamer | CPU-s per participant-minute (mcu) | outputs at rate | latency p50: audio (mcu / Janus), video |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	var plot []point
	for _, r := range rows {
		mc, fl := load.Median(r.mcu.cpuPerSecond), load.Median(r.floor.cpuPerSecond)
		perPM := mc * 60 / float64(r.s.n)
		fmt.Fprintf(&md, "| %s | %.3f | %.3f | %s | %s | %s | %s | %s | %.3f | %s | %s |\n", r.s.name, mc, fl, ratio(mc, fl),
			cell(r.jan), ratio(mc, load.Median(r.jan.cpuPerSecond)), cell(r.gs), ratio(mc, load.Median(r.gs.cpuPerSecond)),
			perPM, okCell(r.mcu.outputOK), latencyCell(r.mcu, r.jan))
		if r.s.video == "" && r.s.talkers < 0 && !r.s.latency && !r.s.rtp {
			plot = append(plot, point{n: r.s.n, mcu: perPM, floor: fl * 60 / float64(r.s.n), janus: load.Median(r.jan.cpuPerSecond) * 60 / float64(r.s.n)})
		}
	}
	for _, r := range rows {
		for _, m := range []measurement{r.jan, r.gs} {
			if m.note != "" {
				fmt.Fprintf(&md, "\n- %s: reference failed: %s\n", r.s.name, m.note)
			}
		}
	}
	md.WriteString(healthTable(rows))
	for _, r := range rows {
		if len(r.mcu.latencyMs) == 0 {
			continue
		}
		name := "latency-" + slug(r.s.name) + ".svg"
		if err := os.WriteFile(filepath.Join(outDir, name), []byte(latencyPlot(r.mcu.latencyMs, r.jan.latencyMs)), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&md, "\n![Audio onset latency, cumulative distribution (%s)](%s)\n", r.s.name, name)
	}
	if len(plot) > 0 {
		if err := os.WriteFile(filepath.Join(outDir, "cpu.svg"), []byte(svgPlot(plot)), 0o644); err != nil {
			return err
		}
		md.WriteString("\n![CPU-seconds per participant-minute vs participants](cpu.svg)\n")
	}
	md.WriteString(targetsSection(rows))
	md.WriteString(capacitySection(capResults, slice))
	md.WriteString(profileSection(rows))
	md.WriteString("\nRegenerate: `make bench-full` (or `go run ./bench/harness -refs janus,gst`).\n")
	report := filepath.Join(outDir, "report.md")
	if err := os.WriteFile(report, []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\nwrote %s\n", md.String(), report)
	return nil
}

// notSlug is what a scenario's name loses in its files' names.
var notSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug is a scenario's name as it appears in its files' names.
func slug(name string) string {
	return strings.Trim(notSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

func floorFor(s scenario) float64 {
	// The room's encoders expect the loss their listeners report: none on
	// loopback, from WebRTC peers and from the load's plain-RTP legs alike
	// (they send receiver reports, as a gateway does).
	f := audioFloor(s.n, s.talkers, s.audioCodecs, s.latency)
	if s.video != "" {
		var iw, ih, cw, ch int
		fmt.Sscanf(s.video, "%dx%d", &iw, &ih)
		fmt.Sscanf(s.canvas, "%dx%d", &cw, &ch)
		f += videoFloor(s.videoDec, iw, ih, s.videoEnc, cw, ch)
	}
	return f
}

// runMCU starts a fresh mcu for one slice and loads it. With profile set,
// it also runs profile on the mcu's process ID as the measured window
// starts, and waits for it.
func runMCU(ctx context.Context, bin string, s scenario, d time.Duration, profile func(pid int) error) (load.Result, error) {
	port, err := proc.FreeTCPPort()
	if err != nil {
		return load.Result{}, err
	}
	adminPort, err := proc.FreeTCPPort()
	if err != nil {
		return load.Result{}, err
	}
	args := proc.MCUArgs(fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("127.0.0.1:%d", adminPort))
	if s.canvas != "" {
		args = append(args, "-canvas", s.canvas)
	}
	if s.exclude {
		args = append(args, "-exclude-self", "true")
	}
	if s.rtp {
		// The load's legs listen on loopback, and the capacity searches
		// put more legs in a room than the default cap.
		args = append(args, "-rtp-allow", "127.0.0.0/8", "-max-legs-per-room", "0")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	if err := cmd.Start(); err != nil {
		return load.Result{}, err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return load.Result{}, errors.New("mcu did not start")
		}
	}
	o := load.Options{URL: url, MetricsURL: fmt.Sprintf("http://127.0.0.1:%d", adminPort), Room: "bench", N: s.n, Talkers: s.talkers, Video: s.video, Codecs: s.codecs, D: d, PID: cmd.Process.Pid, Latency: s.latency,
		Rooms: s.rooms, AudioCodecs: s.audioCodecs, CheapVideo: s.cheapVideo}
	var profiled sync.WaitGroup
	var profileErr error
	if profile != nil {
		o.Measuring = func() {
			profiled.Go(func() { profileErr = profile(cmd.Process.Pid) })
		}
	}
	run := load.Run
	if s.rtp {
		run = load.RunRTP
	}
	res, err := run(ctx, o)
	profiled.Wait()
	if err == nil {
		err = profileErr
	}
	return res, err
}

// refResult is the JSON a reference runner prints.
type refResult struct {
	CPUSeconds   float64   `json:"cpu_seconds"`
	DurationS    float64   `json:"duration_s"`
	OutPPSMin    float64   `json:"out_pps_min"`
	OutFPS       float64   `json:"out_fps"`
	LatencyMsP50 float64   `json:"latency_ms_p50"`
	LatenciesMs  []float64 `json:"latencies_ms"`
	OpusModes    [3]int64  `json:"opus_modes"`
}

func runRef(ctx context.Context, pkg string, args ...string) (refResult, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"run", pkg}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return refResult{}, fmt.Errorf("%s: %v: %s", pkg, err, refError(pkg, string(ee.Stderr)))
		}
		return refResult{}, err
	}
	var r refResult
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || r.DurationS == 0 {
		return refResult{}, fmt.Errorf("%s: unreadable result %q", pkg, lastLine(string(out)))
	}
	return r, nil
}

// refError is what a reference runner's stderr says went wrong: its own
// first message ("janusref: ..."), which comes before the reference's log
// tail and go run's "exit status 1"; else the last line.
func refError(pkg, stderr string) string {
	prefix := path.Base(pkg) + ": "
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	return lastLine(stderr)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func cell(m measurement) string {
	if len(m.cpuPerSecond) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f", load.Median(m.cpuPerSecond))
}

func okCell(ok []bool) string {
	if len(ok) == 0 {
		return "–"
	}
	if slices.Contains(ok, false) {
		return fmt.Sprintf("no (%d of %d slices)", len(ok)-count(ok), len(ok))
	}
	return "yes"
}

func count(ok []bool) (n int) {
	for _, v := range ok {
		if v {
			n++
		}
	}
	return n
}

func latencyCell(mcu, janus measurement) string {
	var parts []string
	if len(mcu.latencyMs) > 0 {
		a := fmt.Sprintf("audio %.1f ms", load.Median(mcu.latencyMs))
		if len(janus.latencyMs) > 0 {
			a += fmt.Sprintf(" / %.1f ms", load.Median(janus.latencyMs))
		}
		parts = append(parts, a)
	}
	if len(mcu.videoLatencyMs) > 0 {
		parts = append(parts, fmt.Sprintf("video %.1f ms", load.Median(mcu.videoLatencyMs)))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, "; ")
}

// healthTable is the mcu's own figures per scenario, medians over the
// slices: how late its audio mix ticks started, and its memory; and the
// worst loss any participant saw in any slice.
func healthTable(rows []row) string {
	var b strings.Builder
	b.WriteString("\n| scenario | mix ticks over 5 ms late | tick lateness p50 / p99 | mcu RSS | worst participant's loss | slowest video output | hybrid Opus frames received (mcu / Janus) |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		m := r.mcu
		fps := "–"
		if len(m.fpsMin) > 0 {
			fps = fmt.Sprintf("%.1f fps", load.Median(m.fpsMin))
		}
		fmt.Fprintf(&b, "| %s | %.2f %% | %.2f / %.2f ms | %.0f MiB | %.2f %% | %s | %s / %s |\n", r.s.name, 100*load.Median(m.lateShare), load.Median(m.tickP50), load.Median(m.tickP99), load.Median(m.rssMiB), 100*slices.Max(append(m.loss, 0)), fps, m.hybridCell(), r.jan.hybridCell())
	}
	return b.String()
}
