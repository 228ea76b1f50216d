// Package resample converts mono int16 audio between sample rates that are
// integer multiples of each other (8000↔48000 and 16000↔48000 Hz are what
// the MCU needs: G.711 phone legs against the 48 kHz mix).
//
// A Resampler is a streaming windowed-sinc FIR (Kaiser window, see the
// design constants): it keeps its filter history between calls, so feeding a
// stream in 20 ms frames gives exactly the samples one call over the whole
// stream would. Upsampling runs as a polyphase interpolator, downsampling as
// a decimator that computes only the samples it keeps. Arithmetic is float64;
// outputs are rounded to nearest (halves away from zero) and saturated to
// the int16 range, never wrapped. Process does not allocate.
//
// A Resampler is not safe for concurrent use; each stream owns one.
package resample

import "fmt"

// MaxRate is the highest sample rate New accepts; MaxRatio the highest
// integer ratio between the two rates.
const (
	MaxRate  = 192000
	MaxRatio = 12
)

// block is the number of input samples filtered per pass; the history
// buffer holds block plus the filter's memory, so Process accepts inputs of
// any length without allocating.
const block = 960

// Resampler converts one mono stream from its input rate to its output rate.
type Resampler struct {
	inRate, outRate int
	up              bool // interpolating (out > in); false: decimating or 1:1
	ratio           int  // 1 means a plain copy
	k               *kernel
	buf             []float64 // k.taps−1 samples of history, then up to block new ones
	phase           int       // decimator: index of the next input sample mod ratio
}

// New returns a Resampler from inRate to outRate Hz. The rates must be
// positive, at most MaxRate, and one must be an integer multiple (at most
// MaxRatio) of the other; equal rates give a pass-through copy.
func New(inRate, outRate int) (*Resampler, error) {
	if inRate <= 0 || outRate <= 0 || inRate > MaxRate || outRate > MaxRate {
		return nil, fmt.Errorf("%w: %d Hz → %d Hz", ErrUnsupportedRate, inRate, outRate)
	}
	hi, lo := max(inRate, outRate), min(inRate, outRate)
	if hi%lo != 0 || hi/lo > MaxRatio {
		return nil, fmt.Errorf("%w: %d Hz → %d Hz is not an integer ratio of at most %d", ErrUnsupportedRate, inRate, outRate, MaxRatio)
	}
	r := &Resampler{inRate: inRate, outRate: outRate, up: outRate > inRate, ratio: hi / lo}
	if r.ratio > 1 {
		r.k = getKernel(r.ratio, r.up)
		r.buf = make([]float64, r.k.taps-1+block)
	}
	return r, nil
}

// InRate returns the input sample rate in Hz.
func (r *Resampler) InRate() int { return r.inRate }

// OutRate returns the output sample rate in Hz.
func (r *Resampler) OutRate() int { return r.outRate }

// Delay returns the group delay in output samples: an input sample at time
// t comes out at t + Delay()/OutRate seconds. It is TapsPerPhase/2 samples
// at the lower rate whichever the direction: 96 output samples for 8→48 kHz
// and 16 for 48→8 kHz (2 ms each, so 4 ms for a round trip), 48 and 16 for
// 16↔48 kHz (1 ms each); 0 for a 1:1 copy.
func (r *Resampler) Delay() int {
	switch {
	case r.ratio == 1:
		return 0
	case r.up:
		return r.ratio * TapsPerPhase / 2
	default:
		return TapsPerPhase / 2
	}
}

// OutLen returns how many samples the next Process call will write for an
// input of n samples. When upsampling it is n·ratio; when downsampling it is
// n/ratio whenever the stream so far and n are multiples of the ratio (as
// 20 ms frames are), otherwise the floor or the ceiling of n/ratio depending
// on where the stream stands: a buffer of ⌈n·outRate/inRate⌉ always suffices.
func (r *Resampler) OutLen(n int) int {
	if n <= 0 {
		return 0
	}
	switch {
	case r.ratio == 1:
		return n
	case r.up:
		return n * r.ratio
	}
	first := (r.ratio - r.phase) % r.ratio // first index of in that yields an output
	if n <= first {
		return 0
	}
	return (n - first + r.ratio - 1) / r.ratio
}

// Reset forgets the stream: history back to silence, as if just built.
func (r *Resampler) Reset() {
	clear(r.buf)
	r.phase = 0
}

// Process converts in and writes the result to out, returning the number of
// samples written (see OutLen). All of in is consumed and becomes history for
// the next call. out must have room for OutLen(len(in)) samples; should it
// be shorter, the samples that do not fit are dropped (the stream's state is
// still advanced over the whole input) rather than the call panicking.
func (r *Resampler) Process(in []int16, out []int16) int {
	if r.ratio == 1 {
		return copy(out, in)
	}
	n := 0
	hist := r.k.taps - 1
	for len(in) > 0 {
		c := min(len(in), block)
		win := r.buf[:hist+c]
		for i, v := range in[:c] {
			win[hist+i] = float64(v)
		}
		if r.up {
			n = r.interpolate(win, c, out, n)
		} else {
			n = r.decimate(win, c, out, n)
		}
		copy(r.buf[:hist], win[c:])
		in = in[c:]
	}
	return n
}

// interpolate writes ratio outputs for each of the c new samples at the end
// of win, starting at out[n]; it returns the new n.
func (r *Resampler) interpolate(win []float64, c int, out []int16, n int) int {
	taps, ratio := r.k.taps, r.ratio
	if n+c*ratio > len(out) { // out too short: keep what fits
		var tmp [MaxRatio]int16
		for i := range c {
			r.phases(win[i:i+taps], tmp[:ratio])
			n += copy(out[n:], tmp[:ratio])
		}
		return min(n, len(out))
	}
	for i := range c {
		r.phases(win[i:i+taps], out[n:n+ratio])
		n += ratio
	}
	return n
}

// phases computes the ratio outputs that one input position yields, from
// the window x of the filter's taps (newest sample last). The two ratios the
// MCU uses run all phases in one pass over x, reading each sample once and
// keeping six sums in flight; other ratios take one dot product per phase.
func (r *Resampler) phases(x []float64, o []int16) {
	k := r.k
	switch r.ratio {
	case 6:
		var s0, s1, s2, s3, s4, s5 float64
		for j, v := range x {
			c := k.byTap[j*6 : j*6+6 : j*6+6]
			s0 += c[0] * v
			s1 += c[1] * v
			s2 += c[2] * v
			s3 += c[3] * v
			s4 += c[4] * v
			s5 += c[5] * v
		}
		o = o[:6]
		o[0], o[1], o[2] = toInt16(s0), toInt16(s1), toInt16(s2)
		o[3], o[4], o[5] = toInt16(s3), toInt16(s4), toInt16(s5)
	case 3:
		var a0, a1, a2, b0, b1, b2 float64
		j := 0
		for ; j+2 <= len(x); j += 2 {
			c := k.byTap[j*3 : j*3+6 : j*3+6]
			v, w := x[j], x[j+1]
			a0 += c[0] * v
			a1 += c[1] * v
			a2 += c[2] * v
			b0 += c[3] * w
			b1 += c[4] * w
			b2 += c[5] * w
		}
		if j < len(x) {
			c := k.byTap[j*3 : j*3+3 : j*3+3]
			a0 += c[0] * x[j]
			a1 += c[1] * x[j]
			a2 += c[2] * x[j]
		}
		o = o[:3]
		o[0], o[1], o[2] = toInt16(a0+b0), toInt16(a1+b1), toInt16(a2+b2)
	default:
		for p := range o {
			o[p] = toInt16(dot(k.coef[p*k.taps:(p+1)*k.taps], x))
		}
	}
}

// decimate writes one output for each new sample of win whose stream index
// is a multiple of the ratio, starting at out[n]; it returns the new n.
func (r *Resampler) decimate(win []float64, c int, out []int16, n int) int {
	taps, coef, ratio := r.k.taps, r.k.coef, r.ratio
	for i := (ratio - r.phase) % ratio; i < c; i += ratio {
		if n < len(out) {
			out[n] = toInt16(dot(coef, win[i:i+taps]))
			n++
		}
	}
	r.phase = (r.phase + c) % ratio
	return n
}

// dot returns Σ c[i]·x[i] over len(c) (x must be at least as long), summed
// in eight interleaved lanes to keep the FPU busy. The order is fixed, so
// results do not depend on how a stream was chunked.
func dot(c, x []float64) float64 {
	x = x[:len(c)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	for len(c) >= 8 && len(x) >= 8 {
		s0 += c[0] * x[0]
		s1 += c[1] * x[1]
		s2 += c[2] * x[2]
		s3 += c[3] * x[3]
		s4 += c[4] * x[4]
		s5 += c[5] * x[5]
		s6 += c[6] * x[6]
		s7 += c[7] * x[7]
		c, x = c[8:], x[8:]
	}
	for i, v := range c {
		if i < len(x) {
			s0 += v * x[i]
		}
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// toInt16 rounds v to nearest (halves away from zero) and saturates.
func toInt16(v float64) int16 {
	switch {
	case v >= 32766.5:
		return 32767
	case v <= -32767.5:
		return -32768
	case v < 0:
		return int16(v - 0.5)
	default:
		return int16(v + 0.5)
	}
}
