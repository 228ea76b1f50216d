package resample

import (
	"math"
	"sync"
)

// Filter design. One prototype low-pass FIR, a Kaiser-windowed sinc, serves
// both directions of a given integer ratio R:
//
//   - length R*TapsPerPhase+1 at the high rate (193 taps for 8↔48 kHz), odd
//     and symmetric, so its group delay is exactly TapsPerPhase/2 samples at
//     the low rate (2 ms at 8 kHz, 1 ms at 16 kHz);
//   - cutoff (−6 dB point) at CutoffFraction of the low rate (3.8 kHz for
//     8 kHz, 7.6 kHz for 16 kHz), just below the low rate's Nyquist;
//   - Kaiser β = KaiserBeta: at 8↔48 kHz the passband is flat within
//     −0.15/+0.003 dB up to 3.4 kHz and everything from 4.4 kHz up (what
//     would alias onto 3.6 kHz and above) is down by ≥ 69 dB.
//
// Gains are normalised so DC passes exactly at unity: the decimator's taps
// sum to 1, and each of the interpolator's R phases sums to 1 (so a constant
// input gives a constant output, with no image at the low rate).
const (
	TapsPerPhase   = 32
	CutoffFraction = 0.475
	KaiserBeta     = 6.5
)

// kernel holds the coefficients of one direction of one ratio, reversed so
// that each output is a forward dot product with a window of history whose
// last element is the newest input sample. Kernels are immutable and shared
// by every Resampler of the same ratio and direction.
type kernel struct {
	ratio int
	taps  int       // coefficients per output (per phase when interpolating)
	coef  []float64 // interpolator: ratio phases of taps each; decimator: taps
	byTap []float64 // interpolator only: coef transposed, ratio phases per tap
}

type kernelKey struct {
	ratio int
	up    bool
}

var kernels sync.Map // kernelKey → *kernel

func getKernel(ratio int, up bool) *kernel {
	key := kernelKey{ratio, up}
	if k, ok := kernels.Load(key); ok {
		return k.(*kernel)
	}
	k, _ := kernels.LoadOrStore(key, newKernel(ratio, up))
	return k.(*kernel)
}

// prototype returns the Kaiser-windowed sinc of length ratio*TapsPerPhase+1,
// defined at the high rate, with unit DC gain.
func prototype(ratio int) []float64 {
	n := ratio*TapsPerPhase + 1
	center := float64(n-1) / 2
	fc := CutoffFraction / float64(ratio) // cycles per high-rate sample
	h := make([]float64, n)
	sum := 0.0
	for i := range h {
		t := float64(i) - center
		s := 2 * fc
		if t != 0 {
			s = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		r := t / center
		h[i] = s * besselI0(KaiserBeta*math.Sqrt(math.Max(0, 1-r*r))) / besselI0(KaiserBeta)
		sum += h[i]
	}
	for i := range h {
		h[i] /= sum
	}
	return h
}

func newKernel(ratio int, up bool) *kernel {
	h := prototype(ratio)
	if !up {
		// y[m] = Σ h[j]·x[ratio·m − j]; reversed so coef[taps−1] meets the
		// newest sample.
		k := &kernel{ratio: ratio, taps: len(h), coef: make([]float64, len(h))}
		for j, v := range h {
			k.coef[len(h)-1-j] = v
		}
		return k
	}
	// Polyphase interpolator: output ratio·i+p = Σ_j ratio·h[p+ratio·j]·x[i−j].
	// Phase 0 has TapsPerPhase+1 taps, the others one fewer (padded with 0).
	taps := TapsPerPhase + 1
	k := &kernel{ratio: ratio, taps: taps, coef: make([]float64, ratio*taps)}
	for p := range ratio {
		c := k.coef[p*taps : (p+1)*taps]
		sum := 0.0
		for j := range taps {
			if idx := p + ratio*j; idx < len(h) {
				c[taps-1-j] = h[idx]
				sum += h[idx]
			}
		}
		for j := range c {
			c[j] /= sum
		}
	}
	k.byTap = make([]float64, len(k.coef))
	for p := range ratio {
		for j := range taps {
			k.byTap[j*ratio+p] = k.coef[p*taps+j]
		}
	}
	return k
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges fast for the β used here).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 100; k++ {
		term *= x / 2 / float64(k)
		sum += term * term
		if term*term < sum*1e-17 {
			break
		}
	}
	return sum
}
