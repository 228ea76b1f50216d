package compositor

import "math"

// The scaling kernel (pure Go, separable, fixed point).
//
// Each output sample is a weighted sum of source samples; the weights of
// one output row or column are precomputed once per (source size, crop,
// output size) and cached by the Compositor, so a frame costs only the
// multiply-adds.
//
//   - Upscaling (and 1:1 with a sub-pixel shift): bilinear interpolation,
//     two taps, sample centres aligned (pixel x covers [x, x+1)).
//   - Downscaling by any factor s > 1: area averaging (a box pre-filter of
//     width s): output pixel i is the mean of the source interval
//     [i·s, (i+1)·s) with partial source pixels weighted by their coverage,
//     ⌈s⌉+1 taps at most. Unlike plain bilinear this never skips source
//     pixels, so 1280→320 does not alias, and it is cheaper than a widened
//     tent filter.
//   - Exact 1:1 copies are done with copy(); exact 2:1 reductions (the
//     common 720p→360p and 360p→180p tiles) with word-at-a-time (SWAR)
//     loops: a fused 2×2 average, rounded once, when both axes halve.
//
// Weights are non-negative 14-bit fixed point that sum to exactly 1<<14 per
// output sample, so flat colours pass through unchanged, nothing overshoots
// (no clamping needed) and gradients stay monotonic. Only samples inside
// the source crop are read; edges are extended. Y and the U, V planes are
// scaled separately with their own tables (chroma at half resolution).
// Pass order is chosen per call (see scalePlane): vertical first when
// shrinking vertically, so the slower gathering horizontal pass runs on
// the output rows only.

// accelScalePlane is nil without cgo or with the tag nolibyuv. Otherwise
// scale_libyuv_cgo.go sets it to libyuv's ScalePlane (box filter),
// which then replaces the pure-Go kernel in Compose; the tests check the
// two agree. It scales the cw×ch crop at (cx, cy) of src into the dw×dh
// rectangle at (dx, dy) of dst.
var accelScalePlane func(dst plane, dx, dy, dw, dh int, src plane, cx, cy, cw, ch int)

const (
	fracBits = 14
	fixOne   = 1 << fracBits
	fixHalf  = 1 << (fracBits - 1)
)

// coeffs is the filter table of one dimension: output i reads the source
// samples start[i] … start[i]+taps-1 with weights w[i*taps:(i+1)*taps].
type coeffs struct {
	taps     int
	start    []int32
	w        []int16
	identity bool // a plain copy: taps 1, weight 1, consecutive starts
	half     bool // exact 2:1 box: taps 2, weights ½ ½, starts 2 apart
	lo, hi   int  // source samples touched: [lo, hi)
}

// compute fills c for out output samples taken from the source span
// [in0, in0+inLen) of a plane dimension of size samples. Only samples of
// the span are read (the span's edge samples are extended), so nothing
// cropped away bleeds in. The span must lie inside [0, size) and inLen
// and out must be positive; the caller guarantees that.
// fw and fs are scratch for the float weights, returned for reuse.
func (c *coeffs) compute(size int, in0, inLen float64, out int, fw []float64, fs []int) ([]float64, []int) {
	scale := inLen / float64(out)
	const eps = 1e-9
	// The readable samples: [base, limit).
	base := min(max(int(math.Floor(in0+eps)), 0), size-1)
	limit := max(min(int(math.Ceil(in0+inLen-eps)), size), base+1)
	// First pass: the float weights of each output over its own window,
	// stored at a fixed stride that is an upper bound of the window.
	maxWin := 2
	if scale > 1 {
		maxWin = int(math.Ceil(scale)) + 2
	}
	fw = growF(fw, out*maxWin)
	fs = growI(fs, out)
	taps := 1
	for i := range out {
		ws := fw[i*maxWin : (i+1)*maxWin]
		clear(ws)
		var xmin, n int
		if scale <= 1 {
			// Bilinear: centre of output i in source sample coordinates.
			ctr := in0 + (float64(i)+0.5)*scale - 0.5
			x0 := int(math.Floor(ctr))
			f := ctr - float64(x0)
			switch {
			case x0 < base:
				x0, f = base, 0
			case x0 >= limit-1:
				x0, f = limit-1, 0
			}
			xmin = x0
			ws[0] = 1 - f
			n = 1
			if f > eps {
				ws[1] = f
				n = 2
			}
		} else {
			a := in0 + float64(i)*scale
			b := a + scale
			a = max(a, float64(base))
			b = min(b, float64(limit))
			if b-a < eps { // cannot happen for a valid span; take the edge sample
				xmin = min(max(int(a), base), limit-1)
				ws[0], n = 1, 1
			} else {
				xmin = int(math.Floor(a + eps))
				xmax := int(math.Ceil(b - eps))
				xmin = min(max(xmin, base), limit-1)
				xmax = max(min(xmax, limit), xmin+1)
				n = min(xmax-xmin, maxWin)
				for k := range n {
					x := float64(xmin + k)
					ws[k] = max(min(b, x+1)-max(a, x), 0)
				}
			}
		}
		fs[i] = xmin
		taps = max(taps, n)
	}
	taps = min(taps, limit-base)
	c.taps = taps
	c.start = growI32(c.start, out)
	c.w = growI16(c.w, out*taps)
	c.identity = taps == 1
	c.half = taps == 2
	c.lo, c.hi = size, 0
	for i := range out {
		ws := fw[i*maxWin : (i+1)*maxWin]
		xmin := fs[i]
		// Shift the window left if it would run past the end; the
		// samples it gains get weight 0.
		st := max(min(xmin, limit-taps), base)
		off := xmin - st
		dst := c.w[i*taps : (i+1)*taps]
		clear(dst)
		var sum float64
		for k := 0; k < maxWin && off+k < taps; k++ {
			sum += ws[k]
		}
		if sum <= 0 { // cannot happen with the kernels above; be safe
			ws[0], sum = 1, 1
		}
		total, big := 0, off
		for k := 0; k < maxWin && off+k < taps; k++ {
			v := int(math.Round(ws[k] / sum * fixOne))
			dst[off+k] = int16(v)
			total += v
			if dst[off+k] > dst[big] {
				big = off + k
			}
		}
		dst[big] += int16(fixOne - total) // exact unity gain
		c.start[i] = int32(st)
		if dst[0] != fixOne || (i > 0 && c.start[i] != c.start[i-1]+1) {
			c.identity = false
		}
		if dst[0] != fixOne/2 || (taps == 2 && dst[1] != fixOne/2) || (i > 0 && c.start[i] != c.start[i-1]+2) {
			c.half = false
		}
		c.lo = min(c.lo, st)
		c.hi = max(c.hi, st+taps)
	}
	return fw, fs
}

func growF(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func growI(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func growI32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func growI16(s []int16, n int) []int16 {
	if cap(s) < n {
		return make([]int16, n)
	}
	return s[:n]
}

func growB(s []byte, n int) []byte {
	if cap(s) < n {
		return make([]byte, n)
	}
	return s[:n]
}

// plane is a view of one 8-bit image plane.
type plane struct {
	pix    []byte
	stride int
}

// scratch holds the buffers the kernel reuses between calls.
type scratch struct {
	tmp []byte  // horizontally scaled source rows (horizontal-first)
	row []byte  // one vertically filtered source row (vertical-first)
	acc []int32 // vertical accumulator for more than 4 taps
}

// scalePlane scales src into the dw×dh rectangle at (dx, dy) of dst using
// the horizontal table h (dw outputs) and vertical table v (dh outputs).
// The tables must have been computed for the source plane's dimensions;
// the caller has validated that the plane holds every sample they touch.
//
// Order of the passes: the horizontal pass gathers (slow per sample), the
// vertical pass streams whole rows (fast). When shrinking vertically the
// vertical pass runs first, one output row at a time into a one-row
// buffer, so the gather runs on dh rows only; otherwise the horizontal
// pass runs first on the source rows needed, into a scratch block.
func scalePlane(dst plane, dx, dy, dw, dh int, src plane, h, v *coeffs, s *scratch) {
	if dw <= 0 || dh <= 0 {
		return
	}
	drow := func(j int) []byte {
		o := (dy+j)*dst.stride + dx
		return dst.pix[o : o+dw : o+dw]
	}
	switch {
	case h.identity && v.identity:
		x0 := int(h.start[0])
		for j := range dh {
			o := int(v.start[j])*src.stride + x0
			copy(drow(j), src.pix[o:o+dw])
		}
	case v.identity:
		for j := range dh {
			hpass(drow(j), src.pix[int(v.start[j])*src.stride:], h)
		}
	case h.half && v.half: // exact 2:1 both ways: one fused 2×2 box pass
		x0 := int(h.start[0])
		for j := range dh {
			o := int(v.start[j])*src.stride + x0
			box2x2(drow(j), src.pix[o:o+2*dw], src.pix[o+src.stride:o+src.stride+2*dw])
		}
	case h.identity:
		x0 := int(h.start[0])
		for j := range dh {
			vpass(drow(j), src.pix, src.stride, x0, int(v.start[j]), v.w[j*v.taps:(j+1)*v.taps], s)
		}
	case dh < v.hi-v.lo: // vertical first
		s.row = growB(s.row, h.hi)
		for j := range dh {
			vpass(s.row[h.lo:h.hi], src.pix, src.stride, h.lo, int(v.start[j]), v.w[j*v.taps:(j+1)*v.taps], s)
			hpass(drow(j), s.row, h)
		}
	default: // horizontal first
		n := v.hi - v.lo
		s.tmp = growB(s.tmp, n*dw)
		for r := range n {
			hpass(s.tmp[r*dw:(r+1)*dw], src.pix[(v.lo+r)*src.stride:], h)
		}
		for j := range dh {
			vpass(drow(j), s.tmp, dw, 0, int(v.start[j])-v.lo, v.w[j*v.taps:(j+1)*v.taps], s)
		}
	}
}

// vpass computes one output row: d[i] = Σ_k w[k]·rows[r0+k][x0+i], rows
// being len(d)-sample runs of pix at the given stride.
func vpass(d []byte, pix []byte, stride, x0, r0 int, w []int16, s *scratch) {
	n := len(d)
	row := func(k int) []byte {
		o := (r0+k)*stride + x0
		return pix[o : o+n : o+n]
	}
	switch len(w) {
	case 1:
		copy(d, row(0))
	case 2:
		a, b := row(0), row(1)
		w0, w1 := int32(w[0]), int32(w[1])
		if w0 == fixOne/2 && w1 == fixOne/2 {
			avgRows(d, a, b) // same result as the weights
			return
		}
		for i := range d {
			d[i] = byte((int32(a[i])*w0 + int32(b[i])*w1 + fixHalf) >> fracBits)
		}
	case 3:
		a, b, c := row(0), row(1), row(2)
		w0, w1, w2 := int32(w[0]), int32(w[1]), int32(w[2])
		for i := range d {
			d[i] = byte((int32(a[i])*w0 + int32(b[i])*w1 + int32(c[i])*w2 + fixHalf) >> fracBits)
		}
	case 4:
		a, b, c, e := row(0), row(1), row(2), row(3)
		w0, w1, w2, w3 := int32(w[0]), int32(w[1]), int32(w[2]), int32(w[3])
		for i := range d {
			d[i] = byte((int32(a[i])*w0 + int32(b[i])*w1 + int32(c[i])*w2 + int32(e[i])*w3 + fixHalf) >> fracBits)
		}
	default:
		s.acc = growI32(s.acc, n)
		acc := s.acc[:n:n]
		a := row(0)
		w0 := int32(w[0])
		for i := range acc {
			acc[i] = int32(a[i])*w0 + fixHalf
		}
		for k := 1; k < len(w); k++ {
			wk := int32(w[k])
			if wk == 0 {
				continue
			}
			b := row(k)
			for i := range acc {
				acc[i] += int32(b[i]) * wk
			}
		}
		for i := range d {
			d[i] = byte(acc[i] >> fracBits)
		}
	}
}

// hpass scales one row: dst[i] = Σ_k src[start[i]+k]·w[i·taps+k].
func hpass(dst, src []byte, h *coeffs) {
	taps := h.taps
	st := h.start[:len(dst)]
	switch taps {
	case 1:
		for i, s := range st {
			dst[i] = src[s]
		}
	case 2:
		if h.half {
			s := int(st[0])
			half2x1(dst, src[s:s+2*len(dst)]) // same result as the weights
			return
		}
		w := h.w[: 2*len(dst) : 2*len(dst)]
		for i, s32 := range st {
			s := int(s32)
			p := src[s : s+2 : s+2]
			q := w[2*i : 2*i+2 : 2*i+2]
			dst[i] = byte((int32(p[0])*int32(q[0]) + int32(p[1])*int32(q[1]) + fixHalf) >> fracBits)
		}
	case 3:
		w := h.w[: 3*len(dst) : 3*len(dst)]
		for i, s32 := range st {
			s := int(s32)
			p := src[s : s+3 : s+3]
			q := w[3*i : 3*i+3 : 3*i+3]
			dst[i] = byte((int32(p[0])*int32(q[0]) + int32(p[1])*int32(q[1]) + int32(p[2])*int32(q[2]) + fixHalf) >> fracBits)
		}
	case 4:
		w := h.w[: 4*len(dst) : 4*len(dst)]
		for i, s32 := range st {
			s := int(s32)
			p := src[s : s+4 : s+4]
			q := w[4*i : 4*i+4 : 4*i+4]
			dst[i] = byte((int32(p[0])*int32(q[0]) + int32(p[1])*int32(q[1]) +
				int32(p[2])*int32(q[2]) + int32(p[3])*int32(q[3]) + fixHalf) >> fracBits)
		}
	default:
		for i, s32 := range st {
			s := int(s32)
			q := h.w[i*taps : (i+1)*taps]
			p := src[s : s+len(q)]
			sum := int32(fixHalf)
			for k, wk := range q {
				sum += int32(p[k]) * int32(wk)
			}
			dst[i] = byte(sum >> fracBits)
		}
	}
}
