package mixer

import (
	"math"
	"testing"

	"github.com/mcu-project/mcu/media"
)

// TestLimitPoints pins the numeric points quoted in the limiter doc.
func TestLimitPoints(t *testing.T) {
	cases := []struct {
		in   int32
		want int16
	}{
		{0, 0},
		{1, 1},
		{-1, -1},
		{Knee, Knee},
		{-Knee, -Knee},
		{Knee + 1, Knee + 1},
		{25041, 25041},
		{25042, 25041},
		{28672, 28362},
		{32767, 30814},
		{-32768, -30815},
		{40960, 32472},
		{49152, 32727},
		{65536, 32766},
		{67157, 32766},
		{67158, 32767},
		{131068, 32767},
		{-131072, -32767},
		{math.MaxInt32, 32767},
		{math.MinInt32, -32767},
	}
	for _, c := range cases {
		if got := Limit(c.in); got != c.want {
			t.Errorf("Limit(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestLimitShape checks the curve's promises over every magnitude the
// table covers and well beyond: identity up to the knee, odd symmetry,
// monotonic with steps of 0 or 1 (continuous, slope <= 1), sign kept,
// never beyond full scale.
func TestLimitShape(t *testing.T) {
	const span = 4 * 32768
	prev := Limit(-span - 1)
	for x := int32(-span); x <= span; x++ {
		y := Limit(x)
		if x >= -Knee && x <= Knee && int32(y) != x {
			t.Fatalf("Limit(%d) = %d, want identity below the knee", x, y)
		}
		if step := int32(y) - int32(prev); step < 0 || step > 1 {
			t.Fatalf("Limit(%d)-Limit(%d) = %d, want 0 or 1", x, x-1, step)
		}
		if Limit(-x) != -y {
			t.Fatalf("Limit(%d) = %d but Limit(%d) = %d", -x, Limit(-x), x, y)
		}
		if (x > 0) != (y > 0) || (x < 0) != (y < 0) {
			t.Fatalf("Limit(%d) = %d changed sign", x, y)
		}
		if y > FullScale || y < -FullScale {
			t.Fatalf("Limit(%d) = %d beyond full scale", x, y)
		}
		prev = y
	}
}

// TestLimitFrameMatchesLimit checks the frame loops (with their one-compare
// fast path) against Limit, and that they count exactly the samples over
// the knee.
func TestLimitFrameMatchesLimit(t *testing.T) {
	var total, own [media.FrameSamples]int32
	var wantN uint64
	for i := range total {
		total[i] = int32(i-media.FrameSamples/2) * 150 // about ±72000
		own[i] = int32(i%7-3) * 5000
	}
	var dst media.AudioFrame
	n := limitFrame(&dst, &total, nil)
	for i, v := range total {
		if dst.Samples[i] != Limit(v) {
			t.Fatalf("full: sample %d: %d, want %d", i, dst.Samples[i], Limit(v))
		}
		if v > Knee || v < -Knee {
			wantN++
		}
	}
	if n != wantN {
		t.Fatalf("full: counted %d, want %d", n, wantN)
	}
	wantN = 0
	n = limitFrame(&dst, &total, &own)
	for i := range total {
		v := total[i] - own[i]
		if dst.Samples[i] != Limit(v) {
			t.Fatalf("minus: sample %d: %d, want %d", i, dst.Samples[i], Limit(v))
		}
		if v > Knee || v < -Knee {
			wantN++
		}
	}
	if n != wantN {
		t.Fatalf("minus: counted %d, want %d", n, wantN)
	}
}

func TestLimitedSamplesCounter(t *testing.T) {
	m, _ := New(DefaultOptions())
	ins := make([]*Input, 4)
	for k := range ins {
		ins[k] = m.Add(media.ParticipantID(rune('a' + k)))
	}
	var out media.AudioFrame

	// Quiet tick: nothing limited.
	for _, in := range ins {
		fillPattern(in.Frame(), []int16{1000, -1000})
		in.SetPresent(true)
	}
	m.Mix(t0)
	m.MixAll(&out)
	for _, in := range ins {
		m.MixMinus(in, &out)
	}
	if n := m.LimitedSamples(); n != 0 {
		t.Fatalf("quiet tick limited %d samples", n)
	}

	// Loud tick: half the samples of each output are over the knee.
	for _, in := range ins {
		fillPattern(in.Frame(), []int16{32767, 1000})
		in.SetPresent(true)
	}
	m.Mix(t0.Add(media.FrameDuration))
	m.MixAll(&out)
	if n := m.LimitedSamples(); n != uint64(media.FrameSamples/2) {
		t.Fatalf("after MixAll: %d, want %d", n, media.FrameSamples/2)
	}
	m.MixAll(&out) // cached: computed once per tick, counted once
	if n := m.LimitedSamples(); n != uint64(media.FrameSamples/2) {
		t.Fatalf("after second MixAll: %d, want %d", n, media.FrameSamples/2)
	}
	m.MixMinus(ins[0], &out)
	if n := m.LimitedSamples(); n != uint64(media.FrameSamples) {
		t.Fatalf("after MixMinus: %d, want %d", n, media.FrameSamples)
	}
}

// TestFourFullScaleMonotonic sweeps the level of four same-sign inputs up
// to full scale: the output must rise monotonically, keep the sign and stay
// within full scale, for the full mix and the mix-minus.
func TestFourFullScaleMonotonic(t *testing.T) {
	for _, sign := range []int32{1, -1} {
		m, _ := New(DefaultOptions())
		ins := make([]*Input, 4)
		for k := range ins {
			ins[k] = m.Add(media.ParticipantID(rune('a' + k)))
		}
		var prevAll, prevMinus int16
		var all, minus media.AudioFrame
		for step := int32(0); step <= 32768; step += 64 {
			v := sign * step
			v = max(min(v, math.MaxInt16), math.MinInt16)
			for _, in := range ins {
				fillPattern(in.Frame(), []int16{int16(v)})
				in.SetPresent(true)
			}
			m.Mix(t0)
			m.MixAll(&all)
			m.MixMinus(ins[1], &minus)
			for _, y := range []int16{all.Samples[0], minus.Samples[0]} {
				if y > FullScale || y < -FullScale || (v != 0 && (int32(y) > 0) != (v > 0)) {
					t.Fatalf("input %d: output %d out of range or sign flipped", v, y)
				}
			}
			if sign*int32(all.Samples[0]) < sign*int32(prevAll) || sign*int32(minus.Samples[0]) < sign*int32(prevMinus) {
				t.Fatalf("input %d: output fell (%d after %d, %d after %d)", v, all.Samples[0], prevAll, minus.Samples[0], prevMinus)
			}
			prevAll, prevMinus = all.Samples[0], minus.Samples[0]
		}
		if want := int16(sign * FullScale); prevAll != want {
			t.Fatalf("four full-scale inputs gave %d, want %d", prevAll, want)
		}
	}
}
