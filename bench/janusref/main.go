// Command janusref is the reference runner for the audio benchmark: it runs
// Janus AudioBridge (the Debian package, installed with apt-get at run time
// if missing) doing the MCU's audio job, so the harness can put the two CPU
// figures side by side.
//
//	go run ./bench/janusref -n 16 -talkers 16 -d 30s -json
//	go run ./bench/janusref -quick                 # smoke test: 2 participants, 3 s
//	go run ./bench/janusref -n 16 -prebuffer 1     # low-latency AudioBridge setting
//
// It starts Janus as a child process on a generated config (conf/*.tmpl: HTTP
// transport on 127.0.0.1 only, no admin API, no WebSockets or other
// transports, only the AudioBridge plugin, no event handlers, no STUN/TURN),
// creates one room (48 kHz, plain RTP participants allowed, no recording, no
// audio-level events) and joins N plain RTP participants (or, with -webrtc,
// N WebRTC peers: webrtc.go). Each is a loopback
// UDP socket in this process sending pre-encoded Opus (64 kb/s, 20 ms,
// payload type 111): a voice around a tone of its own frequency for
// talkers (opusloop.Voice; a steady tone when latency is measured), coded
// digital silence for the rest, so Janus decodes every participant. Each
// counts the mix-minus-self Janus sends back. After a settle time it
// measures Janus's CPU (utime+stime of the Janus process from /proc) over
// -d.
//
// Latency: participant 0 toggles a tone (400 ms on, 600 ms off, at a
// frequency clear of every steady tone) and participant 1 decodes its mix;
// the onset latency is from where the tone starts in what participant 0
// sent to where it starts in what participant 1 received, each to the
// millisecond (bench/internal/onset, at a quarter of the tone's level; a sample
// is placed at its packet's send or arrival time plus its offset in the
// packet), exactly as bench/load measures the mcu. The
// median over the onsets in the measured window is reported (-1 when not
// measured: fewer than 2 participants, no talkers, or -latency=false).
//
// Tone level: AudioBridge 1.1.2 sums into 32 bits and stores the sum into
// 16 bits by plain assignment (janus_audiobridge.c: "FIXME Smoothen/Normalize
// instead of truncating?"), so a mix louder than full scale wraps around
// into noise rather than clipping (the MCU has a soft limiter). bench/load's
// 8192 per talker overflows from 4 talkers on, so by default each tone's
// peak is min(8192, 32000/talkers): the sum can never exceed full scale and
// both Janus and the onset detector see clean audio. -amp overrides it.
//
// Janus defaults kept unless a flag says otherwise: default_prebuffering 6
// packets (-prebuffer), per-participant Opus encoder complexity ("quality")
// 4 (-quality; libopus and so the MCU default to 9), encoder bitrate chosen
// by libopus (-bitrate), no FEC, mono mix.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/bench/internal/proc"
	"github.com/mcu-project/mcu/internal/selfcpu"
	"github.com/mcu-project/mcu/internal/testkit/netshape"
)

// options are the command-line settings.
type options struct {
	n, talkers int
	d, settle  time.Duration
	jsonOut    bool
	prebuffer  int // -1: Janus default
	quality    int // 0: Janus default
	bitrate    int // 0: libopus decides (Janus default)
	latency    bool
	amp        float64
	janusBin   string
	libRoot    string
	janusDebug int
	janusLog   string
	rtpPorts   string
	verbose    bool
	webrtc     bool
	// link is the namespace Janus runs in for WebRTC (nil: loopback).
	link *netshape.Link
}

// Janus 1.1.2 AudioBridge defaults, for the report.
const (
	janusDefaultPrebuffer = 6
	janusDefaultQuality   = 4
	janusMaxPrebuffer     = 50
)

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("janusref", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 16, "participants")
	fs.IntVar(&o.talkers, "talkers", -1, "how many participants send a tone; the rest send coded silence (-1: all)")
	fs.DurationVar(&o.d, "d", 30*time.Second, "measurement duration")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after every participant receives the mix, before measuring")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON line on stdout instead of text")
	quick := fs.Bool("quick", false, "smoke test: -n 2 -d 3s -settle 1s")
	fs.IntVar(&o.prebuffer, "prebuffer", -1, "AudioBridge default_prebuffering in packets, 1-50 (-1: Janus default, 6)")
	fs.IntVar(&o.quality, "quality", 0, "AudioBridge Opus encoder complexity per participant, 1-10 (0: Janus default, 4)")
	fs.IntVar(&o.bitrate, "bitrate", 0, "AudioBridge Opus encoder bitrate in b/s, 500-512000 (0: Janus default, libopus decides)")
	fs.BoolVar(&o.latency, "latency", true, "measure audio onset latency (participant 0 toggles a tone)")
	fs.Float64Var(&o.amp, "amp", 0, "peak amplitude of each talker, int16 scale (0: min(8192, 32000/talkers), so the mix cannot overflow; see the package doc)")
	fs.StringVar(&o.janusBin, "janus", debianJanus, "janus binary (the Debian one is installed with apt-get if missing)")
	fs.StringVar(&o.libRoot, "janus-lib", debianLibRoot, "folder with Janus's plugins/ and transports/")
	fs.IntVar(&o.janusDebug, "janus-debug", 3, "Janus debug_level (0-7; 3: warnings and errors)")
	fs.StringVar(&o.janusLog, "janus-log", "", "also write Janus's log to this file")
	fs.StringVar(&o.rtpPorts, "rtp-ports", "20000-29999", "UDP port range for Janus's plain RTP sockets")
	fs.BoolVar(&o.verbose, "v", false, "progress and latency diagnostics on stderr")
	fs.BoolVar(&o.webrtc, "webrtc", false, "WebRTC participants (pion clients, as bench/load's, signalled through Janus's HTTP API) instead of plain RTP; no latency")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["n"] {
			o.n = 2
		}
		if !set["d"] {
			o.d = 3 * time.Second
		}
		if !set["settle"] {
			o.settle = time.Second
		}
	}
	switch {
	case o.n < 1:
		return o, errors.New("-n must be at least 1")
	case o.d <= 0:
		return o, errors.New("-d must be positive")
	case o.prebuffer == 0:
		// AudioBridge 1.1.2 trims a participant's queue whenever it holds
		// 2*prebuffer packets or more, down to prebuffer: with 0 it empties
		// the queue on every packet and the participant is never mixed.
		return o, errors.New("-prebuffer 0 makes AudioBridge 1.1.2 drop every packet (queue trimmed to 0); use 1 or more")
	case o.prebuffer < -1 || o.prebuffer > janusMaxPrebuffer:
		return o, fmt.Errorf("-prebuffer must be 1-%d (or -1 for the Janus default)", janusMaxPrebuffer)
	case o.quality < 0 || o.quality > 10:
		return o, errors.New("-quality must be 1-10 (or 0 for the Janus default)")
	case o.bitrate != 0 && (o.bitrate < 500 || o.bitrate > 512000):
		return o, errors.New("-bitrate must be 500-512000 (or 0)")
	}
	if o.talkers < 0 || o.talkers > o.n {
		o.talkers = o.n
	}
	if o.webrtc {
		o.latency = false
	}
	if o.amp < 0 || o.amp > 32767 {
		return o, errors.New("-amp must be 0-32767")
	}
	if o.amp == 0 {
		o.amp = opusloop.ToneAmp(o.talkers)
	}
	return o, nil
}

// result is what one run reports (the first nine fields are the harness's
// common ones).
type result struct {
	Impl                   string    `json:"impl"`
	Participants           int       `json:"participants"`
	Talkers                int       `json:"talkers"`
	DurationS              float64   `json:"duration_s"`
	CPUSeconds             float64   `json:"cpu_seconds"`
	CPUPerParticipantMin   float64   `json:"cpu_s_per_participant_minute"`
	OutPPSMin              float64   `json:"out_pps_min"`
	OutPPSMax              float64   `json:"out_pps_max"`
	LatencyP50             float64   `json:"latency_ms_p50"`
	LatencyOnsets          int       `json:"latency_onsets"`
	LatenciesMs            []float64 `json:"latencies_ms,omitempty"` // every onset's, for the distribution
	OutSeqGaps             int64     `json:"out_seq_gaps"`
	JanusVersion           string    `json:"janus_version"`
	Prebuffer              int       `json:"prebuffer"`
	Quality                int       `json:"quality"`
	Bitrate                int       `json:"bitrate"`
	SamplingRate           int       `json:"sampling_rate"`
	ToneAmp                float64   `json:"tone_amp"`
	LoadGeneratorCPUSecond float64   `json:"load_cpu_seconds"`
	// OpusModes counts the packets the participants received in the
	// window by Opus mode: SILK-only, hybrid, CELT-only (opus.PacketMode).
	OpusModes [3]int64 `json:"opus_modes"`
}

var verbose bool

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "janusref: "+format+"\n", args...)
}

func vlogf(format string, args ...any) {
	if verbose {
		logf(format, args...)
	}
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "janusref:", err)
		os.Exit(2)
	}
	verbose = o.verbose
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once
	}()
	r, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "janusref:", err)
		if ctx.Err() != nil {
			os.Exit(130)
		}
		os.Exit(1)
	}
	if o.jsonOut {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
		return
	}
	fmt.Printf("%s (Janus %s): %d participants (%d talking), %.1f s measured\n",
		r.Impl, r.JanusVersion, r.Participants, r.Talkers, r.DurationS)
	fmt.Printf("prebuffer %d packets, encoder quality %d, bitrate %s, %d Hz\n",
		r.Prebuffer, r.Quality, bitrateText(r.Bitrate), r.SamplingRate)
	fmt.Printf("mixed packets/s per participant: min %.1f, max %.1f (want 50); sequence gaps %d\n",
		r.OutPPSMin, r.OutPPSMax, r.OutSeqGaps)
	if r.LatencyP50 >= 0 {
		fmt.Printf("audio onset latency: median %.1f ms over %d onsets\n", r.LatencyP50, r.LatencyOnsets)
	}
	fmt.Printf("Opus packets received by mode, SILK/hybrid/CELT: %d/%d/%d\n", r.OpusModes[0], r.OpusModes[1], r.OpusModes[2])
	fmt.Printf("janus CPU: %.2f s over %.1f s = %.1f %% of one core; %.3f CPU-s per participant-minute\n",
		r.CPUSeconds, r.DurationS, 100*r.CPUSeconds/r.DurationS, r.CPUPerParticipantMin)
}

func bitrateText(b int) string {
	if b == 0 {
		return "libopus auto"
	}
	return strconv.Itoa(b) + " b/s"
}

// run does one benchmark: everything it starts is torn down before it
// returns, on success, error or ctx cancellation alike.
func run(ctx context.Context, o options) (res result, err error) {
	res = result{Impl: "janus-audiobridge", Participants: o.n, Talkers: o.talkers, LatencyP50: -1,
		Prebuffer: janusDefaultPrebuffer, Quality: janusDefaultQuality, Bitrate: o.bitrate, SamplingRate: sampleRate, ToneAmp: o.amp}
	if o.prebuffer > 0 {
		res.Prebuffer = o.prebuffer
	}
	if o.quality > 0 {
		res.Quality = o.quality
	}
	if err := ensureJanus(ctx, o.janusBin); err != nil {
		return res, err
	}

	// Pre-encode every stream once, before Janus runs.
	latency := o.latency && o.n >= 2 && o.talkers >= 1
	detectHz := toggleHz(o.talkers)
	loops := make([][][]byte, o.n)
	silence, err := opusloop.Silence()
	if err != nil {
		return res, fmt.Errorf("encode silence: %w", err)
	}
	for i := range loops {
		switch {
		case i == 0 && latency:
			loops[i], err = toggleLoop(detectHz, o.amp)
		case i < o.talkers && latency:
			loops[i], err = opusloop.Tone(opusloop.ToneHz(i), o.amp) // the onset detector's clear mix
		case i < o.talkers:
			if loops[i], err = opusloop.Voice(opusloop.ToneHz(i), o.amp); err == nil {
				loops[i] = opusloop.Staggered(loops[i], i) // as bench/load's talkers
			}
		default:
			loops[i] = silence
		}
		if err != nil {
			return res, fmt.Errorf("encode tone %d: %w", i, err)
		}
	}

	if o.webrtc {
		// Janus never gathers loopback candidates: it runs in a network
		// namespace of its own, behind a veth pair, on this machine only.
		if o.link, err = netshape.New(); err != nil {
			return res, fmt.Errorf("-webrtc: %w", err)
		}
		defer o.link.Close()
	}
	jp, err := startJanus(ctx, o)
	if err != nil {
		return res, err
	}
	defer jp.stop()
	res.JanusVersion = jp.version
	vlogf("janus %s pid %d, API %s, config %s", jp.version, jp.pid(), jp.base, jp.dir)

	// Teardown runs in order under its own deadline, which starts when the
	// teardown does (ctx may be cancelled by then). The long poll lives
	// until the very end: leave's answer comes through it.
	var (
		cleanupOnce sync.Once
		cleanupCtx  context.Context
		cancelClean context.CancelFunc = func() {}
	)
	defer func() { cancelClean() }()
	cctxFn := func() context.Context {
		cleanupOnce.Do(func() { cleanupCtx, cancelClean = context.WithTimeout(context.Background(), 20*time.Second) })
		return cleanupCtx
	}
	pollCtx, stopPoll := context.WithCancel(context.Background())
	defer stopPoll()
	api := newJanusAPI(jp.base)
	if err := api.createSession(ctx, pollCtx); err != nil {
		return res, withLog(err, jp)
	}
	defer func() {
		if err := api.destroySession(cctxFn()); err != nil {
			vlogf("destroy session: %v", err)
		} else {
			vlogf("teardown: session destroyed")
		}
	}()
	admin, err := api.attach(ctx)
	if err != nil {
		return res, withLog(err, jp)
	}

	room := int64(1_000_000 + rand.IntN(1_000_000_000))
	create := map[string]any{
		"request":                "create",
		"room":                   room,
		"description":            "janusref benchmark",
		"permanent":              false,
		"is_private":             true,
		"sampling_rate":          sampleRate,
		"spatial_audio":          false,
		"audiolevel_ext":         false,
		"audiolevel_event":       false,
		"record":                 false,
		"mjrs":                   false,
		"allow_rtp_participants": true,
	}
	if o.prebuffer > 0 {
		create["default_prebuffering"] = o.prebuffer
	}
	if o.bitrate > 0 {
		create["default_bitrate"] = o.bitrate
	}
	if _, err := api.message(ctx, admin, create); err != nil {
		return res, withLog(err, jp)
	}
	vlogf("room %d created: %v", room, create)
	defer func() {
		if _, err := api.message(cctxFn(), admin, map[string]any{"request": "destroy", "room": room}); err != nil {
			vlogf("destroy room: %v", err)
		} else {
			vlogf("teardown: room %d destroyed", room)
		}
	}()

	if o.webrtc {
		return runWebRTC(ctx, o, jp, api, room, loops, res)
	}

	// Participants: join and receive, then all send.
	stopSend := make(chan struct{})
	var senders, receivers sync.WaitGroup
	parts := make([]*participant, 0, o.n)
	defer func() {
		close(stopSend)
		senders.Wait()
		cctx := cctxFn()
		left := 0
		for _, p := range parts {
			if p.handle == 0 {
				continue
			}
			if _, err := api.message(cctx, p.handle, map[string]any{"request": "leave"}); err != nil {
				vlogf("participant %d leave: %v", p.idx, err)
			} else {
				left++
			}
			if err := api.detach(cctx, p.handle); err != nil {
				vlogf("participant %d detach: %v", p.idx, err)
			}
		}
		vlogf("teardown: %d of %d participants left the room", left, len(parts))
		for _, p := range parts {
			_ = p.conn.Close()
		}
		receivers.Wait()
	}()
	for i := range o.n {
		p, err := newParticipant(i)
		if err != nil {
			return res, err
		}
		parts = append(parts, p)
		p.loop = loops[i]
		p.toggle = latency && i == 0
		p.listen = latency && i == 1
		p.detectHz = detectHz
		if err := join(ctx, api, room, p, o); err != nil {
			return res, withLog(fmt.Errorf("participant %d: %w", i, err), jp)
		}
		receivers.Add(1)
		go p.receive(&receivers)
	}
	vlogf("%d participants joined", o.n)
	// Everyone starts sending at the same instant, as bench/load's
	// plain-RTP legs do toward the mcu: how a mix begins sways how libopus
	// codes it for seconds after (hybrid or CELT-only frames, 4× apart in
	// cost on these tones: bench/harness's BenchmarkOpusModes), so both
	// servers get the same beginning.
	sendFrom := time.Now()
	for _, p := range parts {
		senders.Add(1)
		go p.send(sendFrom, stopSend, &senders)
	}

	// Every participant must get the mix before we measure.
	deadline := time.Now().Add(10 * time.Second)
	for {
		waiting := -1
		for _, p := range parts {
			if p.received.Load() == 0 {
				waiting = p.idx
				break
			}
		}
		if waiting < 0 {
			break
		}
		if !jp.alive() {
			return res, withLog(errors.New("janus exited"), jp)
		}
		if time.Now().After(deadline) {
			return res, withLog(fmt.Errorf("participant %d received nothing from janus within 10 s", waiting), jp)
		}
		if err := proc.Sleep(ctx, 50*time.Millisecond); err != nil {
			return res, err
		}
	}
	if err := proc.Sleep(ctx, o.settle); err != nil {
		return res, err
	}

	// Measure.
	before := make([]int64, len(parts))
	gaps0 := int64(0)
	for i, p := range parts {
		before[i] = p.received.Load()
		gaps0 += p.gaps.Load()
		for m := range res.OpusModes {
			res.OpusModes[m] -= p.modes[m].Load()
		}
	}
	start := time.Now()
	elapsed, err := measureCPU(ctx, jp, o, &res)
	if err != nil {
		return res, err
	}
	end := time.Now()
	res.OutPPSMin = math.Inf(1)
	for i, p := range parts {
		for m := range res.OpusModes {
			res.OpusModes[m] += p.modes[m].Load()
		}
		pps := float64(p.received.Load()-before[i]) / elapsed.Seconds()
		res.OutPPSMin, res.OutPPSMax = min(res.OutPPSMin, pps), max(res.OutPPSMax, pps)
		res.OutSeqGaps += p.gaps.Load()
		vlogf("participant %d (port %d -> janus %s): %.2f packets/s, %d sequence gaps in all; Opus modes SILK/hybrid/CELT %d/%d/%d",
			p.idx, p.port(), p.janus, pps, p.gaps.Load(), p.modes[0].Load(), p.modes[1].Load(), p.modes[2].Load())
	}
	res.OutSeqGaps -= gaps0
	res.OutPPSMin, res.OutPPSMax = round3(res.OutPPSMin), round3(res.OutPPSMax)

	if latency {
		// Onsets whose tone had time to arrive before the window closed.
		var onsets []time.Time
		for _, on := range parts[0].onsetTimes() {
			if !on.Before(start) && on.Before(end.Add(-time.Second)) {
				onsets = append(onsets, on)
			}
		}
		thr := 0.25 * o.amp
		shift, err := sentOnset(loops[0], detectHz, thr)
		if err != nil {
			return res, err
		}
		for i := range onsets {
			onsets[i] = onsets[i].Add(shift)
		}
		lat, baseline := onsetStats(onsets, parts[1].heardFrames(), detectHz, thr)
		vlogf("latency: tone %.0f Hz, threshold %.0f, quiet level p95 %.0f, %d/%d onsets detected: %v",
			detectHz, thr, baseline, len(lat), len(onsets), lat)
		if baseline > thr/2 {
			logf("warning: the latency tone's level while it is off (p95 %.0f) is near the detection threshold %.0f; latency not trustworthy", baseline, thr)
		}
		if len(lat) < len(onsets) {
			logf("warning: %d of %d tone onsets never reached participant 1", len(onsets)-len(lat), len(onsets))
		}
		res.LatencyOnsets, res.LatenciesMs = len(lat), lat
		if len(lat) > 0 {
			res.LatencyP50 = round3(median(lat))
		}
	}
	return res, nil
}

// join adds p to the room as a plain RTP participant and learns where
// Janus expects its RTP.
func join(ctx context.Context, api *janusAPI, room int64, p *participant, o options) error {
	h, err := api.attach(ctx)
	if err != nil {
		return err
	}
	p.handle = h
	req := map[string]any{
		"request": "join",
		"room":    room,
		"display": fmt.Sprintf("p%d", p.idx),
		"muted":   false,
		"codec":   "opus",
		"rtp": map[string]any{
			"ip":           "127.0.0.1",
			"port":         p.port(),
			"payload_type": payloadType,
			"fec":          false,
		},
	}
	if o.quality > 0 {
		req["quality"] = o.quality
	}
	if o.bitrate > 0 {
		req["bitrate"] = o.bitrate
	}
	data, err := api.message(ctx, h, req)
	if err != nil {
		return err
	}
	var joined struct {
		AudioBridge string `json:"audiobridge"`
		ID          int64  `json:"id"`
		RTP         *struct {
			IP          string `json:"ip"`
			Port        int    `json:"port"`
			PayloadType int    `json:"payload_type"`
		} `json:"rtp"`
	}
	if err := json.Unmarshal(data, &joined); err != nil {
		return fmt.Errorf("join answer: %w: %s", err, data)
	}
	if joined.AudioBridge != "joined" || joined.RTP == nil || joined.RTP.Port == 0 {
		return fmt.Errorf("join answer without an RTP address: %s", data)
	}
	if !strings.HasPrefix(joined.RTP.IP, "127.") {
		return fmt.Errorf("janus listens for RTP on %s, not loopback", joined.RTP.IP)
	}
	addr, err := resolveUDP(fmtAddr(joined.RTP.IP, joined.RTP.Port))
	if err != nil {
		return err
	}
	p.id, p.janus = joined.ID, addr
	vlogf("participant %d joined as %d: we 127.0.0.1:%d, janus %s, pt %d", p.idx, p.id, p.port(), addr, joined.RTP.PayloadType)
	return nil
}

// measureCPU measures Janus's CPU (and this process's) over o.d into res.
func measureCPU(ctx context.Context, jp *janusProc, o options, res *result) (time.Duration, error) {
	cpu0, err := proc.CPUSeconds(jp.pid())
	if err != nil {
		return 0, err
	}
	self0 := selfcpu.Time()
	start := time.Now()
	if err := proc.Sleep(ctx, o.d); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	cpu1, err := proc.CPUSeconds(jp.pid())
	if err != nil {
		return 0, withLog(fmt.Errorf("janus CPU: %w", err), jp)
	}
	res.LoadGeneratorCPUSecond = round3((selfcpu.Time() - self0).Seconds())
	if !jp.alive() {
		return 0, withLog(errors.New("janus exited during the measurement"), jp)
	}
	res.DurationS = round3(elapsed.Seconds())
	res.CPUSeconds = round3(cpu1 - cpu0)
	res.CPUPerParticipantMin = round4((cpu1 - cpu0) / (float64(o.n) * elapsed.Minutes()))
	return elapsed, nil
}

func withLog(err error, jp *janusProc) error {
	return fmt.Errorf("%w\njanus log tail:\n%s", err, jp.log.Tail(20))
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
func round4(x float64) float64 { return math.Round(x*10000) / 10000 }
