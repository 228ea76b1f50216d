package compositor

import "encoding/binary"

// SWAR (SIMD within a register) loops for the exact 2:1 and ½+½ cases,
// eight source bytes per 64-bit word. Each gives bit-for-bit the same
// result as the scalar formula in its comment.

const (
	lanes16 = 0x00FF00FF00FF00FF // low byte of each 16-bit lane
	low7    = 0xFEFEFEFEFEFEFEFE // bytes without their lowest bit
)

// pack4 gathers the low bytes of the four 16-bit lanes of s into 4 bytes.
func pack4(s uint64) uint32 {
	s = (s | s>>8) & 0x0000FFFF0000FFFF
	return uint32(s | s>>16)
}

// box2x2 sets d[i] = (a[2i] + a[2i+1] + b[2i] + b[2i+1] + 2) >> 2.
// a and b hold at least 2·len(d) bytes.
func box2x2(d, a, b []byte) {
	n := len(d)
	a, b = a[:2*n], b[:2*n]
	i := 0
	for ; i+4 <= n; i += 4 {
		xa := binary.LittleEndian.Uint64(a[2*i:])
		xb := binary.LittleEndian.Uint64(b[2*i:])
		s := xa&lanes16 + xa>>8&lanes16 + xb&lanes16 + xb>>8&lanes16 + 0x0002000200020002
		binary.LittleEndian.PutUint32(d[i:], pack4(s>>2&lanes16))
	}
	for ; i < n; i++ {
		d[i] = byte((uint(a[2*i]) + uint(a[2*i+1]) + uint(b[2*i]) + uint(b[2*i+1]) + 2) >> 2)
	}
}

// half2x1 sets d[i] = (a[2i] + a[2i+1] + 1) >> 1; a holds 2·len(d) bytes.
func half2x1(d, a []byte) {
	n := len(d)
	a = a[:2*n]
	i := 0
	for ; i+4 <= n; i += 4 {
		x := binary.LittleEndian.Uint64(a[2*i:])
		s := x&lanes16 + x>>8&lanes16 + 0x0001000100010001
		binary.LittleEndian.PutUint32(d[i:], pack4(s>>1&lanes16))
	}
	for ; i < n; i++ {
		d[i] = byte((uint(a[2*i]) + uint(a[2*i+1]) + 1) >> 1)
	}
}

// avgRows sets d[i] = (a[i] + b[i] + 1) >> 1; a and b hold len(d) bytes.
func avgRows(d, a, b []byte) {
	n := len(d)
	a, b = a[:n], b[:n]
	i := 0
	for ; i+8 <= n; i += 8 {
		x := binary.LittleEndian.Uint64(a[i:])
		y := binary.LittleEndian.Uint64(b[i:])
		binary.LittleEndian.PutUint64(d[i:], (x|y)-((x^y)&low7)>>1)
	}
	for ; i < n; i++ {
		d[i] = byte((uint(a[i]) + uint(b[i]) + 1) >> 1)
	}
}
