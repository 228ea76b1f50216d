package pionclient

import "testing"

// TestSeqCounterWraps counts across each counter's wrap: RTP sequence
// numbers (16 bits) and VP8 picture IDs (15 bits), with a packet lost and
// one reordered on the way.
func TestSeqCounterWraps(t *testing.T) {
	for _, bits := range []uint{16, 15} {
		var s seqCounter
		top := int64(1) << bits
		for _, v := range []int64{top - 3, top - 1, top - 2, 0, 2, 3} { // 1 lost; top-2 late
			s.addWrapping(v, bits)
		}
		if got, want := s.counts(), (Counts{Received: 6, Expected: 7}); got != want {
			t.Errorf("%d bits: counts %+v, want %+v", bits, got, want)
		}
	}
}
