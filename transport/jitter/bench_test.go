package jitter

import (
	"testing"
	"time"
)

func BenchmarkPushPop(b *testing.B) {
	payload := make([]byte, 160)
	b.Run("in-order", func(b *testing.B) {
		buf := mustNew(b, DefaultConfig())
		now := t0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf.Push(uint16(i), uint32(i)*960, payload, now)
			buf.Pop(now.Add(5 * time.Millisecond))
			now = now.Add(20 * time.Millisecond)
		}
	})
	b.Run("reordered-with-loss", func(b *testing.B) {
		// Per iteration: 4 sequence numbers, one swapped pair, one loss.
		buf := mustNew(b, DefaultConfig())
		now := t0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			s := uint16(4 * i)
			buf.Push(s+1, uint32(s+1)*960, payload, now)
			buf.Push(s, uint32(s)*960, payload, now.Add(time.Millisecond))
			buf.Pop(now.Add(5 * time.Millisecond))
			buf.Pop(now.Add(25 * time.Millisecond))
			buf.Push(s+3, uint32(s+3)*960, payload, now.Add(40*time.Millisecond))
			buf.Pop(now.Add(45 * time.Millisecond))
			buf.Pop(now.Add(65 * time.Millisecond))
			now = now.Add(80 * time.Millisecond)
		}
	})
}
