package g711

import (
	"fmt"
	"testing"
)

// Literal transcriptions of the ITU-T G.191 STL reference (g711.c,
// ulaw_compress/alaw_compress), to check the bit-twiddled encoders against
// on every input.
func refULaw(s int16) byte {
	lin := int(s)
	absno := lin>>2 + 33
	if lin < 0 {
		absno = (^lin)>>2 + 33
	}
	if absno > 0x1FFF {
		absno = 0x1FFF
	}
	i, segno := absno>>6, 1
	for i != 0 {
		segno++
		i >>= 1
	}
	high := 8 - segno
	low := 0xF - (absno>>segno)&0xF
	out := high<<4 | low
	if lin >= 0 {
		out |= 0x80
	}
	return byte(out)
}

func refALaw(s int16) byte {
	lin := int(s)
	ix := lin >> 4
	if lin < 0 {
		ix = (^lin) >> 4
	}
	if ix > 15 {
		iexp := 1
		for ix > 16+15 {
			ix >>= 1
			iexp++
		}
		ix -= 16
		ix += iexp << 4
	}
	if lin >= 0 {
		ix |= 0x80
	}
	return byte(ix ^ 0x55)
}

func TestKnownValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		dec  func(byte) int16
		b    byte
		want int16
	}{
		{"ulaw", DecodeULaw, 0xFF, 0},
		{"ulaw", DecodeULaw, 0x7F, 0},
		{"ulaw", DecodeULaw, 0x00, -32124},
		{"ulaw", DecodeULaw, 0x80, 32124},
		{"ulaw", DecodeULaw, 0xFE, 8},
		{"ulaw", DecodeULaw, 0x7E, -8},
		{"ulaw", DecodeULaw, 0xF0, 120},
		{"ulaw", DecodeULaw, 0xEF, 132},
		{"alaw", DecodeALaw, 0xD5, 8},
		{"alaw", DecodeALaw, 0x55, -8},
		{"alaw", DecodeALaw, 0x2A, -32256},
		{"alaw", DecodeALaw, 0xAA, 32256},
		{"alaw", DecodeALaw, 0xD4, 24},
		{"alaw", DecodeALaw, 0xC5, 264},
	} {
		t.Run(fmt.Sprintf("%s-%02X", tc.name, tc.b), func(t *testing.T) {
			if got := tc.dec(tc.b); got != tc.want {
				t.Fatalf("decode %#02x = %d, want %d", tc.b, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		enc  func(int16) byte
		s    int16
		want byte
	}{
		{"ulaw", EncodeULaw, 0, 0xFF},
		{"ulaw", EncodeULaw, -1, 0x7F},
		{"ulaw", EncodeULaw, 32767, 0x80},
		{"ulaw", EncodeULaw, -32768, 0x00},
		{"alaw", EncodeALaw, 0, 0xD5},
		{"alaw", EncodeALaw, -1, 0x55},
		{"alaw", EncodeALaw, 32767, 0xAA},
		{"alaw", EncodeALaw, -32768, 0x2A},
	} {
		if got := tc.enc(tc.s); got != tc.want {
			t.Errorf("%s encode %d = %#02x, want %#02x", tc.name, tc.s, got, tc.want)
		}
	}
}

// TestEncodeMatchesReference compares both encoders with the G.191
// reference on all 65536 inputs.
func TestEncodeMatchesReference(t *testing.T) {
	for i := -32768; i <= 32767; i++ {
		s := int16(i)
		if got, want := EncodeULaw(s), refULaw(s); got != want {
			t.Fatalf("EncodeULaw(%d) = %#02x, reference %#02x", s, got, want)
		}
		if got, want := EncodeALaw(s), refALaw(s); got != want {
			t.Fatalf("EncodeALaw(%d) = %#02x, reference %#02x", s, got, want)
		}
	}
}

// TestRoundTripEveryCode: Encode(Decode(b)) == b for all 256 codes of both
// laws, except µ-law 0x7F (negative zero), which decodes to 0 and re-encodes
// to the canonical zero 0xFF.
func TestRoundTripEveryCode(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		want := b
		if b == 0x7F {
			want = 0xFF
		}
		if got := EncodeULaw(DecodeULaw(b)); got != want {
			t.Errorf("µ-law %#02x → %d → %#02x", b, DecodeULaw(b), got)
		}
		if got := EncodeALaw(DecodeALaw(b)); got != b {
			t.Errorf("A-law %#02x → %d → %#02x", b, DecodeALaw(b), got)
		}
	}
}

// TestMonotonic: decoding is strictly monotonic in the code's magnitude
// within each sign; the quantiser Decode(Encode(s)) never decreases as s
// grows; its error is at most half a step (inside the coding range); and
// the codes take 255 (µ-law) / 256 (A-law) distinct values.
func TestMonotonic(t *testing.T) {
	// µ-law: 0x00…0x7F runs −32124…0 upwards, 0x80…0xFF runs 32124…0 downwards.
	for b := 1; b < 0x80; b++ {
		if DecodeULaw(byte(b)) <= DecodeULaw(byte(b-1)) {
			t.Fatalf("µ-law %#02x ≤ %#02x", b, b-1)
		}
		if DecodeULaw(byte(0x80+b)) >= DecodeULaw(byte(0x80+b-1)) {
			t.Fatalf("µ-law %#02x ≥ %#02x", 0x80+b, 0x80+b-1)
		}
	}
	// A-law: with the even bits restored, 0x00…0x7F is the magnitude.
	for m := 1; m < 0x80; m++ {
		pos, prev := byte(0x80|m)^0x55, byte(0x80|(m-1))^0x55
		if DecodeALaw(pos) <= DecodeALaw(prev) || DecodeALaw(pos^0x80) != -DecodeALaw(pos) {
			t.Fatalf("A-law magnitude %d not monotonic or not symmetric", m)
		}
	}
	for _, law := range []struct {
		name  string
		enc   func(int16) byte
		dec   func(byte) int16
		limit int // largest magnitude coded without clipping
		codes int
	}{
		{"µ-law", EncodeULaw, DecodeULaw, 32124, 255},
		{"A-law", EncodeALaw, DecodeALaw, 32256, 256},
	} {
		seen := map[int16]bool{}
		prev := law.dec(law.enc(-32768))
		for i := -32768; i <= 32767; i++ {
			q := law.dec(law.enc(int16(i)))
			seen[q] = true
			if q < prev {
				t.Fatalf("%s: Q(%d) = %d < Q(%d) = %d", law.name, i, q, i-1, prev)
			}
			prev = q
			// Step size at this level: 16-bit step of the code's segment.
			if i >= -law.limit && i <= law.limit {
				step := stepAt(law.name, q)
				if d := abs(int(q) - i); d > step/2+1 {
					t.Fatalf("%s: |Q(%d) − %d| = %d > half step %d", law.name, i, i, d, step/2)
				}
			}
		}
		if len(seen) != law.codes {
			t.Fatalf("%s: %d distinct levels, want %d", law.name, len(seen), law.codes)
		}
	}
}

// stepAt returns the quantiser step (16-bit units) around level q.
func stepAt(name string, q int16) int {
	m := abs(int(q))
	if name == "µ-law" {
		// Segment s holds the magnitudes with m+132 in [128·2^s, 256·2^s),
		// in steps of 8·2^s.
		for seg := range 7 {
			if m+132 < 256<<seg {
				return 8 << seg
			}
		}
		return 8 << 7
	}
	// Segments 0 and 1 (below 512) step by 16; segment s ≥ 2 holds
	// [256·2^(s−1), 512·2^(s−1)) in steps of 16·2^(s−1).
	if m < 512 {
		return 16
	}
	step := 16
	for lim := 512; m >= lim && lim < 32768; lim <<= 1 {
		step <<= 1
	}
	return step
}

func abs(x int) int { return max(x, -x) }
