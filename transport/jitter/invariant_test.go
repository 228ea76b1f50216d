package jitter

import "testing"

// checkInvariants verifies the Buffer's internal bookkeeping.
func (b *Buffer) checkInvariants(t testing.TB) {
	t.Helper()
	n := 0
	for i := range b.slots {
		s := &b.slots[i]
		if !s.present {
			continue
		}
		n++
		if s.ext%b.n != int64(i) {
			t.Fatalf("slot %d holds ext %d", i, s.ext)
		}
		if s.ext < b.nextSeq || s.ext >= b.nextSeq+b.n || s.ext > b.highest {
			t.Fatalf("ext %d outside window [%d, %d) highest %d", s.ext, b.nextSeq, b.nextSeq+b.n, b.highest)
		}
	}
	if n != b.count {
		t.Fatalf("count %d, %d present", b.count, n)
	}
	if b.active {
		if b.count > 0 && !b.present(b.highest) {
			t.Fatalf("highest %d not buffered", b.highest)
		}
		if b.nextSeq > b.highest+1 {
			t.Fatalf("nextSeq %d beyond highest %d", b.nextSeq, b.highest)
		}
	}
	if b.frame < b.minFrame || b.frame > b.maxFrame {
		t.Fatalf("frame %d", b.frame)
	}
}
