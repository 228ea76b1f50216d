// Package onset finds when a tone starts in a stream of received (or sent)
// audio frames, to the millisecond rather than to the frame: the benchmark
// load (bench/load) and the Janus reference (bench/janusref) measure the
// latency a server adds as the time between the onset in what a sender sent
// and the onset in what a listener received, and a detector that could only
// answer "this 20 ms frame" would add up to a frame of its own.
package onset

import (
	"math"
	"time"
)

// SampleRate of the frames' samples.
const SampleRate = 48000

const (
	window = SampleRate / 200  // 5 ms: short enough to place the onset, long enough to tell 1100 Hz from the talkers' 200–400 Hz
	hop    = SampleRate / 1000 // 1 ms
)

// Frame is consecutive audio that arrived (or was sent) at At; sample i is
// taken to belong to time At + i/SampleRate. Frames must follow each other
// without gaps.
type Frame struct {
	At      time.Time
	Samples []int16
}

// First returns the time of the first 5 ms window, hopping by 1 ms through
// the frames that start in [after−20 ms, after+within), in which hz reaches
// amplitude thr: the time of the window's last sample. The same rule on
// both ends of a path makes the difference the path's delay.
func First(frames []Frame, after time.Time, within time.Duration, hz, thr float64) (time.Time, bool) {
	var pcm []int16
	var at []time.Time // time of each sample in pcm, per hop start
	for _, f := range frames {
		if f.At.Before(after.Add(-20*time.Millisecond)) || !f.At.Before(after.Add(within)) {
			continue
		}
		for i := range f.Samples {
			if i%hop == 0 {
				at = append(at, f.At.Add(time.Duration(i)*time.Second/SampleRate))
			}
		}
		pcm = append(pcm, f.Samples...)
	}
	for s := 0; s+window <= len(pcm); s += hop {
		end := at[(s+window-1)/hop].Add(time.Duration((s+window-1)%hop) * time.Second / SampleRate)
		if end.Before(after) {
			continue
		}
		if Level(pcm[s:s+window], hz) >= thr {
			return end, true
		}
	}
	return time.Time{}, false
}

// Level is the amplitude of hz in pcm under a Hann window (a steady sine of
// amplitude A reads about A): the window's low side lobes keep tones a few
// hundred hertz away from registering.
func Level(pcm []int16, hz float64) float64 {
	n := len(pcm)
	if n < 2 {
		return 0
	}
	w := 2 * math.Pi * hz / SampleRate
	c := 2 * math.Cos(w)
	var s1, s2, wsum float64
	for i, x := range pcm {
		win := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		wsum += win
		s0 := float64(x)*win + c*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / wsum
}
