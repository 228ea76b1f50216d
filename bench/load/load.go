// Package load generates a room's worth of participants from one process:
// real WebRTC over loopback, replaying voices and camera pictures, and
// measures what each receives, the mcu process's CPU, and the audio
// latency the mcu adds.
package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcu-project/mcu/bench/internal/onset"
	"github.com/mcu-project/mcu/bench/internal/opusloop"
	"github.com/mcu-project/mcu/bench/internal/proc"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
	"github.com/pion/webrtc/v4"
)

// Options describe one run.
type Options struct {
	URL, Room string
	// MetricsURL is the mcu's admin listener, where /metrics is ("": URL).
	MetricsURL string
	N          int
	// Talkers send a voice (opusloop.Voice, staggered; a steady tone with
	// Latency); the rest send silence (-1: everyone).
	Talkers int
	// Video, when set ("640x360"), gives everyone a moving camera at 30 fps.
	Video  string
	Codecs []string // video codecs handed out in turn (default VP8)
	D      time.Duration
	PID    int // the mcu process, for CPU accounting (0: skip)
	// Measuring, when set, is called as the measured window of D starts
	// (e.g. to take a CPU profile of the mcu over it).
	Measuring func()
	// Latency makes participant 0 toggle its tone and participant 1
	// measure when each onset arrives.
	Latency bool
	// Rooms, when over 1, puts N participants in each of that many rooms:
	// Room-1, Room-2, ... (latency is measured in the first).
	Rooms int
	// AudioCodecs are handed out in turn to plain-RTP legs: opus (the
	// default) or PCMU.
	AudioCodecs []string
	// Relay, when set ("udp" or "tcp"), makes every participant use
	// relayed candidates only, through the TURN server /config names for
	// that transport (the mcu's own with -turn), to measure what relaying
	// costs.
	Relay string
	// CheapVideo replays cameras encoded once (a 2 s loop) instead of
	// encoding each live, and counts the composites received without
	// decoding them, but the latency probe's, so the load fills many rooms
	// from the same cores as the mcu.
	CheapVideo bool
}

// roomName is the name of room r of a run's rooms.
func roomName(base string, r, rooms int) string {
	if rooms <= 1 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, r+1)
}

// Result is what one run measured.
type Result struct {
	N, Talkers int // per room
	Rooms      int
	Duration   time.Duration
	CPUSeconds float64 // of the mcu process over Duration
	// AudioPPSMin and Max: received audio packets/s per participant that
	// hears someone talk all the time (the mcu sends a silent mix with
	// DTX: a packet now and then); 0 when nobody does. AudioRated counts
	// those participants.
	AudioPPSMin, AudioPPSMax float64
	AudioRated               int
	// OpusModes counts the Opus packets the participants received in the
	// window by mode: SILK-only, hybrid, CELT-only (opus.PacketMode). A
	// hybrid frame costs the mcu's encoder about 4× a CELT-only one, so
	// this says how much of the CPU is libopus's choice.
	OpusModes                [3]int64
	VideoFPSMin, VideoFPSMax float64 // composite frames/s per participant (decoded; with CheapVideo, assembled)
	LatencyMs                []float64
	// AudioLossMax and VideoLossMax: the worst participant's share of the
	// mcu's RTP packets to it that never arrived, since it joined.
	AudioLossMax, VideoLossMax float64
	// VideoLatencyMs: per camera frame of participant 0 that participant
	// 1's composite shows, sending to arrival (video runs only).
	VideoLatencyMs []float64
	// From the mcu's /metrics over the window: the audio mix ticks run,
	// the share of them that started more than 5 ms late, and the
	// lateness's median and 99th percentile (interpolated in the
	// histogram's buckets).
	Ticks                        float64
	LateTickShare                float64
	TickLateP50Ms, TickLateP99Ms float64
	// The mcu's resident set size at the end of the window, and its peak
	// since it started (0 without PID).
	RSSBytes, RSSPeakBytes int64
}

// CPUPerParticipantMinute is the mcu's CPU-seconds per participant-minute.
func (r Result) CPUPerParticipantMinute() float64 {
	return r.CPUSeconds / (float64(r.N*max(r.Rooms, 1)) * r.Duration.Minutes())
}

// Run joins the participants, measures for o.D and leaves.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{N: o.N, Talkers: o.Talkers, Rooms: max(o.Rooms, 1)}
	if o.Talkers < 0 || o.Talkers > o.N {
		res.Talkers = o.N
	}
	var cam *pionclient.VideoOptions
	if o.Video != "" {
		cam = &pionclient.VideoOptions{FPS: 30, Moving: true}
		if _, err := fmt.Sscanf(o.Video, "%dx%d", &cam.Width, &cam.Height); err != nil {
			return res, fmt.Errorf("video %q: want WIDTHxHEIGHT", o.Video)
		}
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []string{"VP8"}
	}
	amp := opusloop.ToneAmp(res.Talkers)
	// Every stream but the latency probe's is encoded once, here: the
	// clients replay it, so the load costs little CPU next to the mcu.
	cache := loops{}
	var seen *videoWatch
	jctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// The joins and leaves share connections, closed when the run ends.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var relays []webrtc.ICEServer
	if o.Relay != "" {
		var err error
		if relays, err = pionclient.ConfigICEServers(jctx, pionclient.Options{BaseURL: o.URL, HTTP: hc}, "?transport="+o.Relay); err != nil {
			return res, fmt.Errorf("relay over %s: %w", o.Relay, err)
		}
	}
	clients := make([]*pionclient.Client, 0, o.N)
	defer func() {
		for _, c := range clients {
			_, _ = c.Leave(context.Background())
			c.Close()
		}
	}()
	for k := range res.Rooms * o.N {
		r, i := k/o.N, k%o.N
		probe := o.Latency && k == 0
		// The same voices (tones where latency is measured) and levels as
		// RunRTP and bench/janusref send.
		opts := pionclient.Options{BaseURL: o.URL, Room: roomName(o.Room, r, res.Rooms), Name: fmt.Sprintf("load%d", i), ToneHz: opusloop.ToneHz(i), ToneAmp: amp, KeepSent: probe, HTTP: hc,
			ICEServers: relays, RelayOnly: relays != nil}
		var err error
		switch {
		case probe: // toggles its tone: encoded live
		case i >= res.Talkers:
			opts.Replay, err = cache.get(opusLeg, Silence, 0, 0) // a listener: its microphone sends silence
		case o.Latency:
			opts.Replay, err = cache.get(opusLeg, Tone, i, amp)
		default:
			opts.Replay, err = cache.get(opusLeg, Voice, i, amp)
		}
		if err != nil {
			return res, err
		}
		if cam != nil {
			c := *cam
			c.Y, c.U, c.V = byte(60+40*(i%4)), byte(90+30*(i%3)), byte(200-30*(i%5))
			// Every camera carries its frame counter (as the codec floor's
			// pictures do); participant 1 of the first room watches
			// participant 0's in its composite.
			c.Counter, c.ID = true, i%(pionclient.MaxCounterID+1)
			if o.CheapVideo {
				c.Loop = videoLoop
			}
			switch {
			case k == 1:
				seen = &videoWatch{camW: c.Width, camH: c.Height, n: o.N}
				opts.OnComposite = seen.composite
			case o.CheapVideo:
				opts.CountVideoOnly = true
			}
			opts.Video, opts.RecvVideo = &c, true
			opts.VideoCodec = "video/" + strings.ToUpper(strings.TrimSpace(o.Codecs[i%len(o.Codecs)]))
		}
		c, err := pionclient.Join(jctx, opts)
		if err != nil {
			return res, fmt.Errorf("%s participant %d: %w", opts.Room, i, err)
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		if err := c.WaitConnected(jctx); err != nil {
			return res, err
		}
	}
	time.Sleep(time.Second) // buffers and codecs settle
	if o.Latency && len(clients) >= 2 {
		clients[0].SetTone(0)
		time.Sleep(300 * time.Millisecond)
	}
	before := make([]int, len(clients))
	vbefore := make([]int, len(clients))
	for i, c := range clients {
		before[i] = c.FrameCount()
		for m, n := range c.OpusModes() {
			res.OpusModes[m] -= int64(n)
		}
		_, vbefore[i] = c.LatestVideo()
	}
	win, err := openWindow(ctx, o)
	if err != nil {
		return res, err
	}
	var onsets []time.Time
	if o.Latency && len(clients) >= 2 {
		onsets = toggle(ctx, clients[0], latencyHz, o.D)
	} else if err := proc.Sleep(ctx, o.D); err != nil {
		return res, err
	}
	if err := win.close(ctx, &res); err != nil {
		return res, err
	}
	res.AudioPPSMin, res.VideoFPSMin = math.Inf(1), math.Inf(1)
	for k, c := range clients {
		for m, n := range c.OpusModes() {
			res.OpusModes[m] += int64(n)
		}
		a := c.AudioPackets()
		res.AudioLossMax = max(res.AudioLossMax, lossShare(a.Received, a.Expected))
		if cam != nil {
			v, _ := c.VideoPackets()
			res.VideoLossMax = max(res.VideoLossMax, lossShare(v.Received, v.Expected))
		}
		if hearsTalk(k%o.N, res.Talkers, o.Latency && k < o.N) {
			pps := float64(c.FrameCount()-before[k]) / res.Duration.Seconds()
			res.AudioPPSMin, res.AudioPPSMax = min(res.AudioPPSMin, pps), max(res.AudioPPSMax, pps)
			res.AudioRated++
		}
		if cam != nil {
			_, frames := c.LatestVideo()
			fps := float64(frames-vbefore[k]) / res.Duration.Seconds()
			res.VideoFPSMin, res.VideoFPSMax = min(res.VideoFPSMin, fps), max(res.VideoFPSMax, fps)
		}
	}
	if cam == nil {
		res.VideoFPSMin = 0
	}
	if math.IsInf(res.AudioPPSMin, 1) {
		res.AudioPPSMin = 0
	}
	if len(onsets) > 0 {
		res.LatencyMs = onsetLatencies(clients[0].Sent(), clients[1].Frames(), onsets, latencyHz, amp)
	}
	if seen != nil {
		res.VideoLatencyMs = seen.latencies(clients[0].SentVideoFrames(), win.start)
	}
	return res, nil
}

// videoLoop is the length of a CheapVideo camera's loop: 2 s at 30 fps,
// a keyframe at each wrap.
const videoLoop = 60

// videoWatch reads participant 0's frame counter in every composite one
// participant receives: its camera's ID 0 in one of the grid's tiles.
type videoWatch struct {
	camW, camH, n int
	mu            sync.Mutex
	rects         []compositor.Rect // where a camera's picture can be, for the composite's size
	sizeW, sizeH  int
	seen          []pionclient.VideoStamp // arrival of each composite showing participant 0, and its counter
}

// composite is the client's OnComposite hook.
func (v *videoWatch) composite(at time.Time, pic *media.VideoFrame) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if pic.Width != v.sizeW || pic.Height != v.sizeH {
		v.sizeW, v.sizeH, v.rects = pic.Width, pic.Height, nil
		// The grid with everyone, or without the watcher (exclude_self).
		for _, tiles := range []int{v.n, v.n - 1} {
			regions, _ := compositor.Regions(compositor.Grid(), pic.Width, pic.Height, tiles)
			for _, r := range regions {
				dst, _ := compositor.ContentRect(r.Rect, v.camW, v.camH, r.Fit)
				v.rects = append(v.rects, dst)
			}
		}
	}
	for _, r := range v.rects {
		if id, n, ok := pionclient.ReadCounter(pic, r.X, r.Y, r.W, r.H); ok && id == 0 {
			v.seen = append(v.seen, pionclient.VideoStamp{At: at, N: n})
			return
		}
	}
}

// latencies is, for each counter value participant 0's tile first shows
// after from, the time from its camera frame's sending to that composite's
// arrival, in milliseconds: the mcu's decode, its wait for the canvas
// tick, compositing, encoding and the network, both ways.
func (v *videoWatch) latencies(sent []pionclient.VideoStamp, from time.Time) []float64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []float64
	last := -1
	for _, s := range v.seen {
		if s.N == last {
			continue // the same camera frame again: the canvas ticked before the next came
		}
		last = s.N
		if s.At.Before(from) {
			continue
		}
		// The latest frame sent with that counter before the composite
		// arrived: the counter wraps every CounterPeriod frames (17 s).
		for i := len(sent) - 1; i >= 0; i-- {
			if sent[i].N == s.N && !sent[i].At.After(s.At) {
				out = append(out, float64(s.At.Sub(sent[i].At).Microseconds())/1000)
				break
			}
		}
	}
	return out
}

// hearsTalk reports whether participant i's mix carries someone talking
// all the time: the talkers are the first talkers participants except, in
// latency mode, participant 0, whose tone comes and goes; nobody hears
// itself.
func hearsTalk(i, talkers int, latency bool) bool {
	steady := talkers
	if i < talkers {
		steady-- // not itself
	}
	if latency && i != 0 && talkers > 0 {
		steady-- // participant 0 toggles
	}
	return steady > 0
}

// latencyHz is the probe tone: far from the talkers' 200 + 37·i Hz, so
// their leakage into a 20 ms window cannot pass for an onset.
const latencyHz = 1100

// toggle switches c's tone on for 400 ms and off for 600 ms until d has
// passed, returning when each onset was sent.
func toggle(ctx context.Context, c *pionclient.Client, hz float64, d time.Duration) []time.Time {
	var onsets []time.Time
	end := time.Now().Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		onsets = append(onsets, time.Now())
		c.SetTone(hz)
		time.Sleep(400 * time.Millisecond)
		c.SetTone(0)
		time.Sleep(600 * time.Millisecond)
	}
	return onsets
}

// onsetLatencies measures, for each onset, from the tone's start in what
// the sender sent to its start in what the listener received (bench/internal/
// onset: to the millisecond, at a quarter of the sent level, the criterion
// bench/janusref applies to Janus), in milliseconds: the latency the mcu
// adds (network, playout buffer, mixing clock, its encoder's look-ahead),
// without the sender's own packetisation and encoder delay.
func onsetLatencies(sent, heard []pionclient.Frame, onsets []time.Time, hz, amp float64) []float64 {
	s, h := onsetFrames(sent), onsetFrames(heard)
	var out []float64
	for _, on := range onsets {
		from, ok := onset.First(s, on, 500*time.Millisecond, hz, amp/4)
		if !ok {
			continue
		}
		if to, ok := onset.First(h, from, 500*time.Millisecond, hz, amp/4); ok {
			out = append(out, float64(to.Sub(from).Microseconds())/1000)
		}
	}
	return out
}

func onsetFrames(fs []pionclient.Frame) []onset.Frame {
	out := make([]onset.Frame, len(fs))
	for i, f := range fs {
		out[i] = onset.Frame{At: f.At, Samples: f.Samples}
	}
	return out
}

// lossShare is the share of expected packets not received (0 for none
// expected; duplicates can make received exceed expected).
func lossShare(received, expected int) float64 {
	if expected <= 0 || received >= expected {
		return 0
	}
	return float64(expected-received) / float64(expected)
}

// Median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
