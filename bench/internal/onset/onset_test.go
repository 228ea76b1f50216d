package onset

import (
	"math"
	"testing"
	"time"
)

// frames cuts a signal into 20 ms frames starting at t0.
func frames(t0 time.Time, sig []int16) []Frame {
	var out []Frame
	for i := 0; i+960 <= len(sig); i += 960 {
		out = append(out, Frame{At: t0.Add(time.Duration(i/960) * 20 * time.Millisecond), Samples: sig[i : i+960]})
	}
	return out
}

// signal is 200 Hz throughout (a talker) and hz from sample on.
func signal(n, on int, hz float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		v := 4000 * math.Sin(2*math.Pi*200*float64(i)/SampleRate)
		if i >= on {
			v += 8000 * math.Sin(2*math.Pi*hz*float64(i-on)/SampleRate)
		}
		s[i] = int16(v)
	}
	return s
}

// TestFirstPlacesTheOnsetWithinAFrame: the same onset at different places
// inside a frame is found at times that differ by exactly those places,
// to within the 1 ms hop: the detector does not round to frames.
func TestFirstPlacesTheOnsetWithinAFrame(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var base time.Time
	for k, offset := range []int{960 * 5, 960*5 + 240, 960*5 + 600, 960*6 + 10} {
		got, ok := First(frames(t0, signal(960*12, offset, 1100)), t0, time.Second, 1100, 2000)
		if !ok {
			t.Fatalf("onset at sample %d not found", offset)
		}
		if k == 0 {
			base = got
			continue
		}
		want := base.Add(time.Duration(offset-960*5) * time.Second / SampleRate)
		if d := got.Sub(want); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("onset at sample %d found at %v, want %v ± 1 ms", offset, got.Sub(t0), want.Sub(t0))
		}
	}
	if _, ok := First(frames(t0, signal(960*12, 960*20, 1100)), t0, time.Second, 1100, 2000); ok {
		t.Error("found an onset in a talker alone")
	}
}
