//go:build cgo && !nolibyuv

package compositor

import (
	"fmt"
	"math"
	"testing"
)

// TestLibyuvMatchesPureGo scales natural-looking content (smooth shading
// plus mid-frequency texture) with both kernels: they must agree to within
// rounding and sub-pixel phase differences.
func TestLibyuvMatchesPureGo(t *testing.T) {
	sizes := append([][4]int{{1280, 720, 640, 360}, {640, 360, 426, 240}, {1280, 720, 320, 180}, {176, 144, 426, 240}},
		scaleSizes...)
	for _, sz := range sizes {
		sw, sh, dw, dh := sz[0], sz[1], sz[2], sz[3]
		if sw < 16 || sh < 16 {
			// The kernels' edge handling differs; on a few-pixel
			// source that is a large share of the picture.
			continue
		}
		t.Run(fmt.Sprintf("%dx%d->%dx%d", sw, sh, dw, dh), func(t *testing.T) {
			stride := sw + 9
			src := make([]byte, stride*sh)
			for y := range sh {
				for x := range sw {
					fx, fy := float64(x)/float64(sw), float64(y)/float64(sh)
					v := 120 + 60*math.Sin(fx*7+fy*3) + 40*math.Cos(fy*11-fx*2)
					src[y*stride+x] = byte(min(max(v, 16), 235))
				}
			}
			want := scaleGrey(src, sw, sh, stride, dw, dh)
			got := make([]byte, dw*dh)
			libyuvScalePlane(plane{got, dw}, 0, 0, dw, dh, plane{src, stride}, 0, 0, sw, sh)
			maxd, sum := 0, 0
			for i := range got {
				d := absDiff(got[i], want[i])
				maxd = max(maxd, d)
				sum += d
			}
			mean := float64(sum) / float64(len(got))
			// Content changes by up to ~2 levels per source pixel; a
			// half-pixel phase difference in enlarged output shows as
			// a few levels.
			if mean > 1.5 || maxd > 12 {
				t.Errorf("libyuv vs pure Go: mean |Δ| %.2f, max |Δ| %d", mean, maxd)
			}
			t.Logf("mean |Δ| %.2f, max |Δ| %d", mean, maxd)
		})
	}
}
