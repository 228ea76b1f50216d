package resample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// tone returns n samples of amp·sin(2πf·i/rate + phase), rounded.
func tone(n int, f, rate, amp, phase float64) []int16 {
	x := make([]int16, n)
	for i := range x {
		x[i] = int16(math.Round(amp * math.Sin(2*math.Pi*f*float64(i)/rate+phase)))
	}
	return x
}

// fit is a least-squares fit of c + a·sin(ωi) + b·cos(ωi) to x.
type fit struct {
	amp      float64 // √(a²+b²)
	phase    float64 // x ≈ amp·sin(ωi + phase)
	tonePow  float64 // amp²/2
	residPow float64 // mean square of x minus the fitted model
}

func fitTone(x []int16, f, rate float64) fit {
	w := 2 * math.Pi * f / rate
	// Normal equations for the basis (1, sin, cos).
	var m [3][3]float64
	var v [3]float64
	for i, s := range x {
		b := [3]float64{1, math.Sin(w * float64(i)), math.Cos(w * float64(i))}
		for r := range 3 {
			for c := range 3 {
				m[r][c] += b[r] * b[c]
			}
			v[r] += b[r] * float64(s)
		}
	}
	coef := solve3(m, v)
	var res float64
	for i, s := range x {
		model := coef[0] + coef[1]*math.Sin(w*float64(i)) + coef[2]*math.Cos(w*float64(i))
		d := float64(s) - model
		res += d * d
	}
	amp := math.Hypot(coef[1], coef[2])
	return fit{amp: amp, phase: math.Atan2(coef[2], coef[1]), tonePow: amp * amp / 2, residPow: res / float64(len(x))}
}

func solve3(m [3][3]float64, v [3]float64) [3]float64 {
	for c := range 3 { // Gaussian elimination with partial pivoting
		p := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		v[c], v[p] = v[p], v[c]
		for r := c + 1; r < 3; r++ {
			k := m[r][c] / m[c][c]
			for cc := c; cc < 3; cc++ {
				m[r][cc] -= k * m[c][cc]
			}
			v[r] -= k * v[c]
		}
	}
	var x [3]float64
	for r := 2; r >= 0; r-- {
		s := v[r]
		for c := r + 1; c < 3; c++ {
			s -= m[r][c] * x[c]
		}
		x[r] = s / m[r][r]
	}
	return x
}

func db(x float64) float64 { return 10 * math.Log10(x) }

func mustNew(t testing.TB, in, out int) *Resampler {
	t.Helper()
	r, err := New(in, out)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run feeds x through r in chunks of the given size and returns all output.
func run(r *Resampler, x []int16, chunk int) []int16 {
	var y []int16
	buf := make([]int16, chunk*MaxRatio+1)
	for len(x) > 0 {
		c := min(chunk, len(x))
		n := r.Process(x[:c], buf)
		y = append(y, buf[:n]...)
		x = x[c:]
	}
	return y
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		in, out int
		ok      bool
	}{
		{8000, 48000, true}, {48000, 8000, true}, {16000, 48000, true}, {48000, 16000, true},
		{8000, 16000, true}, {24000, 48000, true}, {8000, 96000, true}, {48000, 48000, true},
		{44100, 48000, false}, {48000, 44100, false}, {8000, 192000, false}, {0, 48000, false},
		{-8000, 48000, false}, {8000, 0, false}, {48000, 384000, false}, {11025, 48000, false},
	} {
		t.Run(fmt.Sprintf("%d-%d", tc.in, tc.out), func(t *testing.T) {
			r, err := New(tc.in, tc.out)
			if tc.ok != (err == nil) {
				t.Fatalf("New(%d, %d) = %v, want ok=%v", tc.in, tc.out, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrUnsupportedRate) {
				t.Fatalf("error %v does not wrap ErrUnsupportedRate", err)
			}
			if err == nil && (r.InRate() != tc.in || r.OutRate() != tc.out) {
				t.Fatalf("rates %d→%d", r.InRate(), r.OutRate())
			}
		})
	}
}

// TestRoundTripSNR sends a 1 kHz sine at −6 dBFS through 48→8→48 kHz in
// 20 ms frames. Over a steady-state window (after 100 ms) it measures SNR
// two ways: (a) tone power against the residual left after a least-squares
// fit of DC + sin + cos at 1 kHz (everything that is not the tone: images,
// aliases, rounding noise); (b) against the ideal input delayed by the
// documented total delay (which also charges gain and delay errors).
func TestRoundTripSNR(t *testing.T) {
	const (
		rate = 48000
		amp  = 16384 // −6 dBFS
	)
	x := tone(rate, 1000, rate, amp, 0)
	down, up := mustNew(t, 48000, 8000), mustNew(t, 8000, 48000)
	var y []int16
	mid, outFrame := make([]int16, 160), make([]int16, 960)
	for f := 0; f+960 <= len(x); f += 960 {
		n := down.Process(x[f:f+960], mid)
		m := up.Process(mid[:n], outFrame)
		if n != 160 || m != 960 {
			t.Fatalf("frame %d: %d then %d samples", f/960, n, m)
		}
		y = append(y, outFrame...)
	}
	delay := down.Delay()*6 + up.Delay() // in 48 kHz samples
	if delay != 192 {
		t.Fatalf("round-trip delay %d samples, want 192 (4 ms)", delay)
	}
	win := y[4800:]
	ft := fitTone(win, 1000, rate)
	snrFit := db(ft.tonePow / ft.residPow)
	var sig, noise float64
	for i, v := range win {
		n := 4800 + i
		ideal := amp * math.Sin(2*math.Pi*1000*float64(n-delay)/rate)
		sig += ideal * ideal
		noise += (float64(v) - ideal) * (float64(v) - ideal)
	}
	snrAligned := db(sig / noise)
	gain := 20 * math.Log10(ft.amp/amp)
	t.Logf("48→8→48 kHz, 1 kHz at −6 dBFS: SNR %.1f dB (LS fit), %.1f dB (vs ideal delayed by %d samples), gain %+.4f dB",
		snrFit, snrAligned, delay, gain)
	if snrFit < 60 || snrAligned < 60 {
		t.Fatalf("SNR %.1f / %.1f dB, want ≥ 60", snrFit, snrAligned)
	}
	if math.Abs(gain) > 0.05 {
		t.Fatalf("gain %.3f dB", gain)
	}
}

// TestPassband measures tones from 300 to 3400 Hz through 8→48 kHz (and the
// same fraction of the band, up to 6.8 kHz, through 16→48 kHz): each must
// come out within ±0.5 dB.
func TestPassband(t *testing.T) {
	for _, tc := range []struct{ in, top int }{{8000, 3400}, {16000, 6800}} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			var lo, hi = math.Inf(1), math.Inf(-1)
			for f := 300; f <= tc.top; f += 100 {
				r := mustNew(t, tc.in, 48000)
				x := tone(tc.in/2, float64(f), float64(tc.in), 16384, 0.3)
				y := run(r, x, tc.in/50)
				g := 20 * math.Log10(fitTone(y[len(y)/4:], float64(f), 48000).amp/16384)
				lo, hi = min(lo, g), max(hi, g)
				if math.Abs(g) > 0.5 {
					t.Errorf("%d Hz: %+.3f dB", f, g)
				}
			}
			t.Logf("%d→48000 passband 300–%d Hz: %+.3f … %+.3f dB", tc.in, tc.top, lo, hi)
		})
	}
}

// TestStopband sends tones the low rate cannot carry through 48→8 kHz: they
// must not alias back in. 6 kHz must be down ≥ 50 dB; everything from
// 4.4 kHz up ≥ 65 dB (the design gives ≥ 69 dB; rounding to int16 floors
// the measurement near 100 dB).
func TestStopband(t *testing.T) {
	const amp = 16384
	for _, f := range []float64{4400, 5000, 6000, 7000, 8000, 9000, 12000, 16000, 20000, 23900} {
		r := mustNew(t, 48000, 8000)
		x := tone(48000/2, f, 48000, amp, 0.1)
		y := run(r, x, 960)
		var p float64
		for _, v := range y[len(y)/4:] {
			p += float64(v) * float64(v)
		}
		p /= float64(len(y) - len(y)/4)
		att := math.Inf(1)
		if p > 0 {
			att = db(amp * amp / 2 / p)
		}
		if p == 0 {
			t.Logf("%5.0f Hz: attenuated > 96 dB (every output sample rounds to 0)", f)
		} else {
			t.Logf("%5.0f Hz: attenuated %.1f dB", f, att)
		}
		want := 65.0
		if f == 6000 {
			want = 50
		}
		if att < want {
			t.Errorf("%.0f Hz attenuated %.1f dB, want ≥ %.0f", f, att, want)
		}
	}
}

// TestImpulseDelay checks Delay: an impulse comes out centred Delay()
// output samples later.
func TestImpulseDelay(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{8000, 48000}, {48000, 8000}, {16000, 48000}, {48000, 16000}} {
		r := mustNew(t, tc.in, tc.out)
		x := make([]int16, tc.in/50)
		at := 12 * 6 // a multiple of every ratio
		x[at] = 20000
		y := run(r, x, len(x))
		peak := 0
		for i := range y {
			if abs(int(y[i])) > abs(int(y[peak])) {
				peak = i
			}
		}
		want := at*tc.out/tc.in + r.Delay()
		if peak != want {
			t.Errorf("%d→%d: impulse peak at %d, want %d (delay %d)", tc.in, tc.out, peak, want, r.Delay())
		}
		if ms := float64(r.Delay()) * 1000 / float64(tc.out); ms != 2 && ms != 1 {
			t.Errorf("%d→%d: delay %.3f ms", tc.in, tc.out, ms)
		}
	}
}

func abs(x int) int { return max(x, -x) }

// TestDCUnity: a constant comes out exactly, in both directions.
func TestDCUnity(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{8000, 48000}, {48000, 8000}, {16000, 48000}, {48000, 16000}} {
		r := mustNew(t, tc.in, tc.out)
		x := make([]int16, tc.in/10)
		for i := range x {
			x[i] = -12345
		}
		y := run(r, x, 7)
		for i, v := range y[len(y)/2:] {
			if v != -12345 {
				t.Fatalf("%d→%d: sample %d = %d", tc.in, tc.out, len(y)/2+i, v)
			}
		}
	}
}

// TestSaturation: a full-scale square wave overshoots after band-limiting;
// the overshoot must clip at the int16 limits, never wrap around.
func TestSaturation(t *testing.T) {
	x := make([]int16, 1600)
	for i := range x {
		x[i] = 32767
		if i/20%2 == 1 {
			x[i] = -32768
		}
	}
	y := run(mustNew(t, 8000, 48000), x, 160)
	if slices.Max(y) != 32767 || slices.Min(y) != -32768 {
		t.Fatalf("range %d…%d: the overshoot did not clip", slices.Min(y), slices.Max(y))
	}
	for i := 1; i < len(y); i++ {
		if d := abs(int(y[i]) - int(y[i-1])); d > 30000 {
			t.Fatalf("jump of %d at %d: wrapped", d, i)
		}
	}
	if toInt16(1e9) != 32767 || toInt16(-1e9) != -32768 || toInt16(2.5) != 3 || toInt16(-2.5) != -3 || toInt16(-0.4) != 0 {
		t.Fatal("toInt16 rounding/saturation")
	}
}

// TestStreamingEqualsOneCall: any chunking, odd sizes included, produces
// exactly the samples of one call over the whole stream.
func TestStreamingEqualsOneCall(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ in, out int }{{8000, 48000}, {48000, 8000}, {16000, 48000}, {48000, 16000}, {48000, 48000}} {
		x := make([]int16, tc.in*3/10) // 300 ms, more than one internal block
		for i := range x {
			x[i] = int16(rng.IntN(65536) - 32768)
		}
		whole := run(mustNew(t, tc.in, tc.out), x, len(x))
		if len(whole) != len(x)*tc.out/tc.in {
			t.Fatalf("%d→%d: %d samples from %d", tc.in, tc.out, len(whole), len(x))
		}
		for _, chunk := range []int{1, 5, 7, 13, tc.in / 50, 959, 961, 2000} {
			r := mustNew(t, tc.in, tc.out)
			got := make([]int16, 0, len(whole))
			buf := make([]int16, (chunk*tc.out+tc.in-1)/tc.in)
			for rest := x; len(rest) > 0; {
				c := min(chunk, len(rest))
				want := r.OutLen(c)
				if want > len(buf) {
					t.Fatalf("%d→%d chunk %d: OutLen %d exceeds ⌈n·out/in⌉ = %d", tc.in, tc.out, chunk, want, len(buf))
				}
				n := r.Process(rest[:c], buf)
				if n != want {
					t.Fatalf("%d→%d chunk %d: wrote %d, OutLen said %d", tc.in, tc.out, chunk, n, want)
				}
				got = append(got, buf[:n]...)
				rest = rest[c:]
			}
			if !slices.Equal(got, whole) {
				t.Fatalf("%d→%d: chunks of %d differ from one call", tc.in, tc.out, chunk)
			}
		}
	}
}

func TestReset(t *testing.T) {
	r := mustNew(t, 48000, 8000)
	x := tone(960, 1000, 48000, 10000, 0)
	out1 := make([]int16, 160)
	r.Process(x, out1)
	r.Reset()
	out2 := make([]int16, 160)
	r.Process(x, out2)
	if !slices.Equal(out1, out2) {
		t.Fatal("Reset did not restore the initial state")
	}
}

// TestShortOutput: an undersized out drops samples instead of panicking.
func TestShortOutput(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{8000, 48000}, {48000, 8000}} {
		r := mustNew(t, tc.in, tc.out)
		x := tone(tc.in/50, 1000, float64(tc.in), 10000, 0)
		out := make([]int16, 10)
		if n := r.Process(x, out); n != 10 {
			t.Fatalf("%d→%d wrote %d into 10", tc.in, tc.out, n)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	for _, tc := range []struct{ in, out int }{{8000, 48000}, {48000, 8000}, {16000, 48000}, {48000, 16000}} {
		r := mustNew(t, tc.in, tc.out)
		x := tone(tc.in/50, 1000, float64(tc.in), 10000, 0)
		out := make([]int16, 960)
		if a := testing.AllocsPerRun(100, func() { r.Process(x, out) }); a != 0 {
			t.Errorf("%d→%d: %.1f allocations per 20 ms frame", tc.in, tc.out, a)
		}
	}
}

// BenchmarkFrame converts one 20 ms frame per iteration.
func BenchmarkFrame(b *testing.B) {
	for _, tc := range []struct{ in, out int }{{8000, 48000}, {48000, 8000}, {16000, 48000}, {48000, 16000}} {
		b.Run(fmt.Sprintf("%dto%d", tc.in/1000, tc.out/1000), func(b *testing.B) {
			r := mustNew(b, tc.in, tc.out)
			x := tone(tc.in/50, 1000, float64(tc.in), 10000, 0)
			out := make([]int16, 960)
			b.ReportAllocs()
			for b.Loop() {
				r.Process(x, out)
			}
		})
	}
}
