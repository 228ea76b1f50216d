package compositor

import (
	"fmt"
	"testing"
)

// scaleGrey scales a sw×sh 8-bit plane (stride sw+pad) to dw×dh with the
// package kernel and returns the packed result.
func scaleGrey(src []byte, sw, sh, stride, dw, dh int) []byte {
	var h, v coeffs
	fw, fs := h.compute(sw, 0, float64(sw), dw, nil, nil)
	v.compute(sh, 0, float64(sh), dh, fw, fs)
	dst := make([]byte, dw*dh)
	scalePlane(plane{dst, dw}, 0, 0, dw, dh, plane{src, stride}, &h, &v, &scratch{})
	return dst
}

var scaleSizes = [][4]int{
	// sw, sh, dw, dh
	{1280, 720, 320, 180}, {1280, 720, 640, 360}, {1280, 720, 426, 240}, {640, 360, 426, 240},
	{640, 480, 1280, 720}, {176, 144, 1280, 720}, {320, 240, 320, 240}, {320, 240, 322, 242},
	{1920, 1080, 128, 72}, {100, 100, 97, 61}, {7, 5, 640, 360}, {1, 1, 64, 64}, {4096, 16, 2, 2},
}

// TestScaleFlat: a flat plane stays exactly flat at every size.
func TestScaleFlat(t *testing.T) {
	for _, sz := range scaleSizes {
		for _, v := range []byte{0, 16, 128, 235, 255} {
			t.Run(fmt.Sprintf("%dx%d->%dx%d/%d", sz[0], sz[1], sz[2], sz[3], v), func(t *testing.T) {
				src := make([]byte, sz[0]*sz[1])
				fillBytes(src, v)
				for i, p := range scaleGrey(src, sz[0], sz[1], sz[0], sz[2], sz[3]) {
					if p != v {
						t.Fatalf("pixel %d = %d, want %d", i, p, v)
					}
				}
			})
		}
	}
}

// TestScaleEdge: a sharp vertical (and horizontal) edge stays where it
// should within 1 px, and is still sharp (transition ≤ 2 px, +scale
// factor when upscaling, since bilinear ramps over one source pixel).
func TestScaleEdge(t *testing.T) {
	for _, sz := range scaleSizes {
		sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
		if sw < 4 {
			continue
		}
		t.Run(fmt.Sprintf("%dx%d->%dx%d", sw, sh, dw, dh), func(t *testing.T) {
			edge := sw / 3 // source columns < edge dark
			pad := 5
			src := make([]byte, (sw+pad)*sh)
			for y := range sh {
				for x := range sw + pad {
					src[y*(sw+pad)+x] = 16
					if x >= edge {
						src[y*(sw+pad)+x] = 235
					}
					if x >= sw {
						src[y*(sw+pad)+x] = 0 // padding: must not be read
					}
				}
			}
			out := scaleGrey(src, sw, sh, sw+pad, dw, dh)
			want := float64(edge) * float64(dw) / float64(sw) // edge in output pixels
			up := max(1, float64(dw)/float64(sw))
			for y := range dh {
				row := out[y*dw : (y+1)*dw]
				// Sub-pixel crossing of the midpoint.
				mid := 125.5
				pos := -1.0
				for x := 1; x < dw; x++ {
					a, b := float64(row[x-1]), float64(row[x])
					if a < mid && b >= mid {
						pos = float64(x-1) + (mid-a)/(b-a) + 0.5 // in pixel-edge coordinates
						break
					}
				}
				if pos < 0 || pos-want > 1 || want-pos > 1 {
					t.Fatalf("row %d: edge at %.2f, want %.2f±1 (row %v…)", y, pos, want, row[:min(dw, 16)])
				}
				// Sharpness: few intermediate pixels.
				ramp := 0
				for _, p := range row {
					if p > 20 && p < 231 {
						ramp++
					}
				}
				if float64(ramp) > 2+up {
					t.Fatalf("row %d: %d intermediate pixels, edge too soft", y, ramp)
				}
				// Padding never leaks in: the right edge stays light.
				if row[dw-1] != 235 {
					t.Fatalf("row %d ends with %d", y, row[dw-1])
				}
			}
		})
	}
}

// TestScaleGradient: a horizontal ramp and a vertical ramp stay monotonic
// and keep their end values.
func TestScaleGradient(t *testing.T) {
	for _, sz := range scaleSizes {
		sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
		t.Run(fmt.Sprintf("%dx%d->%dx%d", sw, sh, dw, dh), func(t *testing.T) {
			src := make([]byte, sw*sh)
			for y := range sh {
				for x := range sw {
					src[y*sw+x] = byte(16 + 219*x/max(sw-1, 1))
				}
			}
			out := scaleGrey(src, sw, sh, sw, dw, dh)
			for y := range dh {
				for x := 1; x < dw; x++ {
					if out[y*dw+x] < out[y*dw+x-1] {
						t.Fatalf("(%d,%d): %d after %d, not monotonic", x, y, out[y*dw+x], out[y*dw+x-1])
					}
				}
			}
			// Transposed: vertical ramp.
			for y := range sh {
				for x := range sw {
					src[y*sw+x] = byte(16 + 219*y/max(sh-1, 1))
				}
			}
			out = scaleGrey(src, sw, sh, sw, dw, dh)
			for y := 1; y < dh; y++ {
				for x := range dw {
					if out[y*dw+x] < out[(y-1)*dw+x] {
						t.Fatalf("(%d,%d): %d below %d, not monotonic", x, y, out[y*dw+x], out[(y-1)*dw+x])
					}
				}
			}
		})
	}
}

// TestScaleNoAlias: 1-px stripes shrunk 4× average out to flat grey
// instead of aliasing into bands (plain bilinear would pick every 4th
// column: all dark or all light).
func TestScaleNoAlias(t *testing.T) {
	for _, sz := range [][4]int{{1280, 720, 320, 180}, {1280, 720, 426, 240}, {1920, 1080, 128, 72}, {640, 360, 426, 240}} {
		sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
		t.Run(fmt.Sprintf("%dx%d->%dx%d", sw, sh, dw, dh), func(t *testing.T) {
			src := make([]byte, sw*sh)
			for y := range sh {
				for x := range sw {
					if (x+y)&1 == 0 { // checkerboard: worst case both ways
						src[y*sw+x] = 235
					} else {
						src[y*sw+x] = 16
					}
				}
			}
			out := scaleGrey(src, sw, sh, sw, dw, dh)
			lo, hi := 255, 0
			for _, p := range out {
				lo, hi = min(lo, int(p)), max(hi, int(p))
			}
			// Mean is 125.5. An even factor averages the period-2
			// pattern exactly; a box of width s leaves at most 1/s of
			// the ±110 amplitude per axis, 1/s² in 2-D.
			s := float64(sw) / float64(dw)
			tol := int(110/(s*s)) + 2
			if sw%(2*dw) == 0 {
				tol = 1
			}
			if lo < 125-tol || hi > 126+tol {
				t.Fatalf("output spans %d..%d, want 125.5±%d", lo, hi, tol)
			}
		})
	}
}

// TestScaleIdentity: equal sizes copy exactly.
func TestScaleIdentity(t *testing.T) {
	src := make([]byte, 64*48)
	for i := range src {
		src[i] = byte(i * 31)
	}
	out := scaleGrey(src, 64, 48, 64, 64, 48)
	if string(out) != string(src) {
		t.Fatal("1:1 scale is not a copy")
	}
}

// TestCoeffsInvariants: weights are non-negative, sum to one, and never
// index outside the plane.
func TestCoeffsInvariants(t *testing.T) {
	for _, tt := range []struct {
		size       int
		in0, inLen float64
		out        int
	}{
		{1280, 0, 1280, 320}, {1280, 0, 1280, 1279}, {1280, 0, 1280, 1281}, {1, 0, 1, 100}, {100, 0, 100, 1},
		{88, 0, 87.5, 320}, {640, 80, 480, 1280}, {640, 160, 320, 3}, {3, 1, 1, 7}, {4096, 0, 4096, 2},
	} {
		t.Run(fmt.Sprintf("%+v", tt), func(t *testing.T) {
			var c coeffs
			c.compute(tt.size, tt.in0, tt.inLen, tt.out, nil, nil)
			if len(c.start) != tt.out || len(c.w) != tt.out*c.taps {
				t.Fatalf("table sizes %d, %d for %d outputs × %d taps", len(c.start), len(c.w), tt.out, c.taps)
			}
			lo, hi := int(tt.in0), int(tt.in0+tt.inLen+0.999)
			for i := range tt.out {
				st := int(c.start[i])
				if st < lo || st+c.taps > hi {
					t.Fatalf("output %d reads [%d,%d), span [%d,%d)", i, st, st+c.taps, lo, hi)
				}
				sum := 0
				for _, w := range c.w[i*c.taps : (i+1)*c.taps] {
					if w < 0 {
						t.Fatalf("output %d: negative weight %d", i, w)
					}
					sum += int(w)
				}
				if sum != fixOne {
					t.Fatalf("output %d: weights sum to %d", i, sum)
				}
			}
		})
	}
}

// TestSWAR: the word-at-a-time loops equal their scalar formulas on
// random data, at lengths around the word boundaries.
func TestSWAR(t *testing.T) {
	seed := uint32(7)
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			seed = seed*1664525 + 1013904223
			b[i] = byte(seed >> 24)
		}
		if n > 3 {
			b[0], b[1], b[2], b[3] = 255, 255, 0, 255 // extremes
		}
		return b
	}
	for n := range 40 {
		a, b := rnd(2*n+3), rnd(2*n+3)
		d := make([]byte, n)
		box2x2(d, a, b)
		for i := range n {
			if want := byte((int(a[2*i]) + int(a[2*i+1]) + int(b[2*i]) + int(b[2*i+1]) + 2) >> 2); d[i] != want {
				t.Fatalf("box2x2 n=%d i=%d: %d, want %d", n, i, d[i], want)
			}
		}
		half2x1(d, a)
		for i := range n {
			if want := byte((int(a[2*i]) + int(a[2*i+1]) + 1) >> 1); d[i] != want {
				t.Fatalf("half2x1 n=%d i=%d: %d, want %d", n, i, d[i], want)
			}
		}
		avgRows(d, a, b)
		for i := range n {
			if want := byte((int(a[i]) + int(b[i]) + 1) >> 1); d[i] != want {
				t.Fatalf("avgRows n=%d i=%d: %d, want %d", n, i, d[i], want)
			}
		}
	}
}
