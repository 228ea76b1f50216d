//go:build cgo && !nolibyuv

package compositor

// The libyuv twin of the pure-Go scaling kernel, used by every cgo build
// (the mcu's codecs are cgo anyway) unless `-tags nolibyuv` asks for the
// pure-Go kernel; CGO_ENABLED=0 gets the pure-Go one too. Needs libyuv-dev
// to build (Makefile DEB_BUILD) and libyuv0 to run: it is 2-4× faster on
// the non-integer scales of grids and ladders. libyuv's box filter averages
// areas when shrinking and interpolates bilinearly when enlarging, like
// the pure-Go kernel, with SIMD; results differ by rounding and sub-pixel
// phase only (see scale_libyuv_cgo_test.go).
//
// C never keeps a Go pointer: ScalePlane is synchronous and the planes hold
// no Go pointers.

/*
#cgo LDFLAGS: -lyuv
#include <stdint.h>
#include <libyuv/scale.h>
*/
import "C"

import "unsafe"

func init() { accelScalePlane = libyuvScalePlane }

// libyuvScalePlane scales the cw×ch crop at (cx, cy) of src into the dw×dh
// rectangle at (dx, dy) of dst. The caller has validated both rectangles
// against their planes.
func libyuvScalePlane(dst plane, dx, dy, dw, dh int, src plane, cx, cy, cw, ch int) {
	if dw <= 0 || dh <= 0 || cw <= 0 || ch <= 0 {
		return
	}
	s := unsafe.Pointer(&src.pix[cy*src.stride+cx])
	d := unsafe.Pointer(&dst.pix[dy*dst.stride+dx])
	C.ScalePlane((*C.uint8_t)(s), C.int(src.stride), C.int(cw), C.int(ch),
		(*C.uint8_t)(d), C.int(dst.stride), C.int(dw), C.int(dh), C.kFilterBox)
}
