package mixer

import (
	"math"
	"slices"

	"github.com/mcu-project/mcu/media"
)

// Soft limiter.
//
// Every output of the mixer (the full mix and each mix-minus) passes through
// one stateless curve applied per sample to the int32 sum. Being stateless
// (no envelope follower, no look-ahead) is deliberate: mix-minus outputs need
// no per-listener state, any listener's output can be computed in any order,
// and the result is a pure function of the sum, which table tests can state.
//
// The curve, for a pre-limit sum x and m = |x|:
//
//	m <= Knee:  y = x                                   (identity, bit exact)
//	m >  Knee:  y = sign(x) * (Knee + round(R * tanh((m - Knee) / R)))
//	            with R = FullScale - Knee = 8191
//
// Properties: odd-symmetric, monotonic non-decreasing in x, continuous with
// slope 1 at the knee (d/dm R*tanh((m-Knee)/R) = 1 at m = Knee), so a sum
// just over the knee is barely touched (it stays bit exact up to about
// Knee+465, where the cubic term of tanh first reaches half a step), and it
// approaches FullScale (32767 / -32767) without exceeding it: output never
// wraps around and is never hard-clipped at a corner. A few points:
//
//	 in       out
//	 24576    24576   (knee, 0.75 full scale, -2.5 dBFS)
//	 25041    25041   (last bit-exact magnitude)
//	 28672    28362
//	 32767    30814   (a lone full-scale sample is softened by 0.5 dB)
//	 40960    32472   (1.25 × full scale)
//	 49152    32727   (1.5 × full scale)
//	 65536    32766   (2 × full scale)
//	>=67158   32767
//
// Why the knee is at 0.75 of full scale (24576, -2.5 dBFS) rather than 0.5:
// browsers run the WebRTC AGC whose default target puts speech peaks near
// -3 dBFS, so a single talker, or two quiet ones, pass bit exact and only
// real overlaps (which would otherwise wrap) pay for the curve. The top
// 2.5 dB are enough room for a smooth tanh shoulder; a lower knee would
// color every loud talker for little gain.
//
// Speed: samples inside the knee cost one compare; samples over it cost one
// lookup in limiterTable (built once at package init from the formula above,
// 42 582 entries / 85 KB shared by every mixer), and sums past the table
// end are FullScale. No math calls run per sample.
const (
	// FullScale is the largest magnitude the limiter outputs.
	FullScale = math.MaxInt16 // 32767

	// Knee is where the curve starts: any |sum| <= Knee passes unchanged.
	Knee = 24576

	limiterRange = FullScale - Knee // R in the curve, 8191
)

// limiterTable[d] is the limiter output for |x| = Knee + d. It stops at the
// first d whose output rounds to FullScale; larger magnitudes map to
// FullScale too.
var limiterTable = buildLimiterTable()

func buildLimiterTable() []int16 {
	// Grown by append because the length (42 582) is where the curve
	// rounds to FullScale, easier to find than to state in closed form.
	t := make([]int16, 0, 1<<16)
	for d := 0; ; d++ {
		v := Knee + math.Round(limiterRange*math.Tanh(float64(d)/limiterRange))
		if v >= FullScale {
			return slices.Clone(t) // drop the unused capacity
		}
		t = append(t, int16(v))
	}
}

// Limit applies the soft-limiter curve to one pre-limit sum. It is exported
// so callers (and tests) can state expected outputs.
func Limit(x int32) int16 {
	if x >= -Knee && x <= Knee {
		return int16(x)
	}
	return limitOver(x)
}

// limitOver handles |x| > Knee; kept out of the loops so the common path
// stays small enough to inline.
func limitOver(x int32) int16 {
	neg := x < 0
	// int64 so that |math.MinInt32| cannot overflow; the mixer bounds sums
	// far below that, but Limit is exported.
	m := int64(x)
	if neg {
		m = -m
	}
	y := int16(FullScale)
	if d := m - Knee; d < int64(len(limiterTable)) {
		y = limiterTable[d]
	}
	if neg {
		return -y
	}
	return y
}

// noContribution stands in for "own" when a listener contributes nothing.
var noContribution [media.FrameSamples]int32

// limitFrame writes Limit(total[i]-own[i]) into dst, own may be nil. It
// returns how many samples were over the knee (compressed by the curve).
func limitFrame(dst *media.AudioFrame, total, own *[media.FrameSamples]int32) uint64 {
	if own == nil {
		own = &noContribution
	}
	var n uint64
	for i, v := range total {
		v -= own[i]
		// uint32(v+Knee) <= 2*Knee is -Knee <= v <= Knee in one compare;
		// v+Knee cannot overflow because sums are bounded by MaxInputs.
		if uint32(v+Knee) <= 2*Knee {
			dst.Samples[i] = int16(v)
			continue
		}
		dst.Samples[i] = limitOver(v)
		n++
	}
	return n
}
