// Package load generates a room's worth of participants from one process:
// real WebRTC over loopback, replaying tones and camera pictures, and
// measures what each receives, the mcu process's CPU, and the audio
// latency the mcu adds.
package load

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mcu-project/mcu/bench/internal/proc"
	"github.com/mcu-project/mcu/internal/onset"
	"github.com/mcu-project/mcu/internal/opusloop"
	"github.com/mcu-project/mcu/internal/pionclient"
)

// Options describe one run.
type Options struct {
	URL, Room string
	N         int
	// Talkers send a tone; the rest send silence (-1: everyone).
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
}

// Result is what one run measured.
type Result struct {
	N, Talkers int
	Duration   time.Duration
	CPUSeconds float64 // of the mcu process over Duration
	// AudioPPSMin and Max: received audio packets/s per participant that
	// hears someone talk all the time (the mcu sends a silent mix with
	// DTX: a packet now and then); 0 when nobody does. AudioRated counts
	// those participants.
	AudioPPSMin, AudioPPSMax float64
	AudioRated               int
	VideoFPSMin, VideoFPSMax float64 // decoded composite frames/s per participant
	LatencyMs                []float64
}

// CPUPerParticipantMinute is the mcu's CPU-seconds per participant-minute.
func (r Result) CPUPerParticipantMinute() float64 {
	return r.CPUSeconds / (float64(r.N) * r.Duration.Minutes())
}

// Run joins the participants, measures for o.D and leaves.
func Run(ctx context.Context, o Options) (Result, error) {
	res := Result{N: o.N, Talkers: o.Talkers}
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
	silence, err := opusloop.Silence()
	if err != nil {
		return res, err
	}
	jctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	clients := make([]*pionclient.Client, 0, o.N)
	defer func() {
		for _, c := range clients {
			_, _ = c.Leave(context.Background())
			c.Close()
		}
	}()
	for i := range o.N {
		// The same tones and levels as RunRTP and bench/janusref send.
		opts := pionclient.Options{BaseURL: o.URL, Room: o.Room, Name: fmt.Sprintf("load%d", i), ToneHz: opusloop.ToneHz(i), ToneAmp: amp, KeepSent: o.Latency && i == 0}
		switch {
		case o.Latency && i == 0: // toggles its tone: encoded live
		case i >= res.Talkers:
			opts.Replay = silence // a listener: its microphone sends silence
		default:
			if opts.Replay, err = opusloop.Tone(opts.ToneHz, amp); err != nil {
				return res, err
			}
		}
		if cam != nil {
			c := *cam
			c.Y, c.U, c.V = byte(60+40*(i%4)), byte(90+30*(i%3)), byte(200-30*(i%5))
			opts.Video, opts.RecvVideo = &c, true
			opts.VideoCodec = "video/" + strings.ToUpper(strings.TrimSpace(o.Codecs[i%len(o.Codecs)]))
		}
		c, err := pionclient.Join(jctx, opts)
		if err != nil {
			return res, fmt.Errorf("participant %d: %w", i, err)
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
		_, vbefore[i] = c.LatestVideo()
	}
	cpu0, err := proc.CPUSeconds(o.PID)
	if err != nil {
		return res, err
	}
	start := time.Now()
	if o.Measuring != nil {
		o.Measuring()
	}
	var onsets []time.Time
	if o.Latency && len(clients) >= 2 {
		onsets = toggle(ctx, clients[0], latencyHz, o.D)
	} else {
		select {
		case <-time.After(o.D):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	res.Duration = time.Since(start)
	cpu1, err := proc.CPUSeconds(o.PID)
	if err != nil {
		return res, err
	}
	res.CPUSeconds = cpu1 - cpu0
	res.AudioPPSMin, res.VideoFPSMin = math.Inf(1), math.Inf(1)
	for i, c := range clients {
		if hearsTalk(i, res.Talkers, o.Latency) {
			pps := float64(c.FrameCount()-before[i]) / res.Duration.Seconds()
			res.AudioPPSMin, res.AudioPPSMax = min(res.AudioPPSMin, pps), max(res.AudioPPSMax, pps)
			res.AudioRated++
		}
		if cam != nil {
			_, frames := c.LatestVideo()
			fps := float64(frames-vbefore[i]) / res.Duration.Seconds()
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
	return res, nil
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
// the sender sent to its start in what the listener received (internal/
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

// Median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
