package g711

import "math/bits"

// The companding laws of ITU-T G.711, computed as in its reference
// implementation (ITU-T G.191 STL, g711.c), on left-justified 16-bit linear
// samples. Negative inputs are folded with a one's complement (^s), so s and
// −1−s fall in mirrored intervals and the quantiser is symmetric about −½.
// Decoding returns the centre of the coded interval, so every code except
// µ-law's negative zero survives Decode→Encode unchanged.

// EncodeULaw compresses one linear sample to µ-law (PCMU). Inputs beyond
// the µ-law range (±32124 and a half step) clip to the largest code. Zero and
// −1 encode to 0xFF, the canonical (positive) zero.
func EncodeULaw(s int16) byte {
	mag, sign := int(s), byte(0x80)
	if s < 0 {
		mag, sign = int(^s), 0
	}
	// 14-bit magnitude plus the µ-law bias (33), clipped to 13 bits.
	mag = min(mag>>2+33, 0x1FFF)
	seg := bits.Len(uint(mag>>6)) + 1 // 1…8
	return sign | byte((8-seg)<<4) | byte(0xF-(mag>>seg)&0xF)
}

// DecodeULaw expands one µ-law code to a linear sample: 0x80 → 32124,
// 0x00 → −32124, and both 0xFF and 0x7F (negative zero) → 0.
func DecodeULaw(b byte) int16 { return ulawTable[b] }

// EncodeALaw compresses one linear sample to A-law (PCMA, with the even
// bits inverted as transmitted). A-law has no zero code: 0 encodes to 0xD5
// (+8) and −1 to 0x55 (−8).
func EncodeALaw(s int16) byte {
	mag, sign := int(s), byte(0x80)
	if s < 0 {
		mag, sign = int(^s), 0
	}
	mag >>= 4 // 12-bit magnitude
	code := mag
	if mag > 15 {
		exp := bits.Len(uint(mag)) - 4 // 1…7
		code = exp<<4 | (mag>>(exp-1))&0xF
	}
	return (sign | byte(code)) ^ 0x55
}

// DecodeALaw expands one A-law code to a linear sample: 0xD5 → 8,
// 0x55 → −8, 0xAA → 32256, 0x2A → −32256.
func DecodeALaw(b byte) int16 { return alawTable[b] }

var ulawTable = func() (t [256]int16) {
	for i := range t {
		u := ^byte(i)
		exp := int(u>>4) & 7
		mant := int(u) & 0xF
		step := 4 << (exp + 1)
		v := 0x80<<exp + step*mant + step/2 - 4*33
		if i < 0x80 {
			v = -v
		}
		t[i] = int16(v)
	}
	return t
}()

var alawTable = func() (t [256]int16) {
	for i := range t {
		a := byte(i) ^ 0x55
		exp := int(a>>4) & 7
		mant := int(a) & 0xF
		if exp > 0 {
			mant += 16
		}
		v := mant<<4 + 8
		if exp > 1 {
			v <<= exp - 1
		}
		if i < 0x80 {
			v = -v
		}
		t[i] = int16(v)
	}
	return t
}()
