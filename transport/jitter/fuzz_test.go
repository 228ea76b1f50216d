package jitter

import (
	"testing"
	"time"
)

// Fuzz op encoding (one byte per op, low 3 bits = kind, high 5 bits = k):
//
//	0, 1  Pop, then advance the clock by k ms
//	2     Push seq+1 arriving k ms ago
//	3     Push seq+int8(next byte)
//	4     Push the last packet again (duplicate)
//	5     Push seq+1 with the timestamp offset changed by int16(next 2 bytes)*97
//	6     Push seq+uint16(next 2 bytes) (possibly huge jump)
//	7     k == 31: Reset; else advance the clock by 10·k ms
//
// The first 4 bytes choose MaxPackets, MinDelay, MaxDelay and the first
// sequence number's high byte.
const (
	opPop     = 0
	opNext    = 2
	opDelta   = 3
	opDup     = 4
	opTsJump  = 5
	opJump    = 6
	opTime    = 7
	opResetK  = 31
	fuzzFrame = 960
)

func op(kind, k byte) byte { return kind | k<<3 }

// Seeds mirroring the table tests.
func fuzzSeeds() [][]byte {
	hdr := []byte{62, 20, 80, 0}
	wrapHdr := []byte{62, 20, 80, 0xFF}
	var inOrder, swaps, dups, loss, burst, jump, reset, overflow []byte
	for range 60 {
		inOrder = append(inOrder, op(opNext, 0), op(opPop, 20))
		dups = append(dups, op(opNext, 0), op(opDup, 0), op(opPop, 20))
	}
	for range 30 {
		swaps = append(swaps, op(opDelta, 0), 2, op(opPop, 20), op(opDelta, 0), 0xFF, op(opPop, 20), op(opDelta, 0), 2)
	}
	for i := range 60 {
		if i == 30 {
			loss = append(loss, op(opDelta, 0), 2, op(opPop, 20))
			burst = append(burst, op(opDelta, 0), 4, op(opPop, 20))
			jump = append(jump, op(opJump, 0), 0x13, 0x88, op(opPop, 20))
			reset = append(reset, op(opTime, opResetK), op(opDelta, 0), 0x80, op(opPop, 20))
			continue
		}
		loss = append(loss, op(opNext, 0), op(opPop, 20))
		burst = append(burst, op(opNext, 0), op(opPop, 20))
		jump = append(jump, op(opNext, 0), op(opPop, 20))
		reset = append(reset, op(opNext, 0), op(opPop, 20))
	}
	for range 100 {
		overflow = append(overflow, op(opNext, 1))
	}
	for range 40 {
		overflow = append(overflow, op(opPop, 20))
	}
	tsjump := []byte{op(opNext, 0), op(opPop, 20), op(opTsJump, 0), 0x7F, 0xFF, op(opPop, 20), op(opNext, 0), op(opPop, 20)}
	cat := func(h []byte, ops []byte) []byte { return append(append([]byte{}, h...), ops...) }
	return [][]byte{
		cat(hdr, inOrder), cat(wrapHdr, inOrder), cat(hdr, swaps), cat(wrapHdr, swaps), cat(hdr, dups),
		cat(hdr, loss), cat(hdr, burst), cat(hdr, jump), cat(hdr, reset), cat([]byte{14, 0, 40, 0}, overflow),
		cat(hdr, tsjump),
	}
}

func FuzzBuffer(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		// A hang crashes the worker, so the fuzzer records the input.
		watchdog := time.AfterFunc(10*time.Second, func() { panic("FuzzBuffer: input took over 10 s") })
		defer watchdog.Stop()
		cfg := DefaultConfig()
		cfg.MaxPackets = 2 + int(data[0])%64
		cfg.MinDelay = time.Duration(data[1]%100) * time.Millisecond
		cfg.MaxDelay = cfg.MinDelay + time.Duration(1+int(data[2])%200)*time.Millisecond
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		seq := uint16(data[3]) << 8
		seq -= 3
		var tsOff uint32
		now := t0
		var last uint16
		have := false
		var lastResyncs uint64
		lastSeq, lastTs := seq, uint32(0)
		push := func(s uint16, ts uint32, at time.Time) {
			b.Push(s, ts, payloadFor(s), at)
			lastSeq, lastTs = s, ts
		}
		data = data[4:]
		for i := 0; i < len(data); i++ {
			kind, k := data[i]&7, data[i]>>3
			arg := func() byte {
				if i+1 < len(data) {
					i++
					return data[i]
				}
				return 0
			}
			switch kind {
			case 0, 1:
				r := b.Pop(now)
				now = now.Add(time.Duration(k) * time.Millisecond)
				if rs := b.Stats().Resyncs; rs != lastResyncs {
					lastResyncs, have = rs, false
				}
				switch r.Status {
				case Packet:
					if got := payloadSeq(r.Payload); got != int(r.Seq) {
						t.Fatalf("packet %d carries payload of %d", r.Seq, got)
					}
				case Lost:
					if r.Next != nil && payloadSeq(r.Next) != int(r.Seq+1) {
						t.Fatalf("lost %d with Next of %d", r.Seq, payloadSeq(r.Next))
					}
				case Empty:
					if r.Payload != nil || r.Next != nil {
						t.Fatalf("empty with data: %+v", r)
					}
					continue
				default:
					t.Fatalf("status %v", r.Status)
				}
				if r.Status == Packet && r.Next != nil {
					t.Fatalf("packet with Next")
				}
				if have && int16(r.Seq-last) <= 0 {
					t.Fatalf("seq %d (%v) after %d", r.Seq, r.Status, last)
				}
				last, have = r.Seq, true
			case opNext:
				seq++
				push(seq, uint32(seq)*fuzzFrame+tsOff, now.Add(-time.Duration(k)*time.Millisecond))
			case opDelta:
				seq += uint16(int8(arg()))
				push(seq, uint32(seq)*fuzzFrame+tsOff, now)
			case opDup:
				push(lastSeq, lastTs, now)
			case opTsJump:
				hi, lo := arg(), arg()
				tsOff += uint32(int32(int16(uint16(hi)<<8|uint16(lo))) * 97)
				seq++
				push(seq, uint32(seq)*fuzzFrame+tsOff, now)
			case opJump:
				hi, lo := arg(), arg()
				seq += uint16(hi)<<8 | uint16(lo)
				push(seq, uint32(seq)*fuzzFrame+tsOff, now)
			case opTime:
				if k == opResetK {
					b.Reset()
					have = false
					continue
				}
				now = now.Add(time.Duration(k) * 10 * time.Millisecond)
			}
			if rs := b.Stats().Resyncs; rs != lastResyncs {
				lastResyncs, have = rs, false
			}
			b.checkInvariants(t)
			s := b.Stats()
			if s.Depth < 0 || s.Depth > cfg.MaxPackets || s.Buffered < 0 {
				t.Fatalf("depth %d buffered %v", s.Depth, s.Buffered)
			}
			if d := b.Delay(); d < cfg.MinDelay || d > cfg.MaxDelay {
				t.Fatalf("delay %v outside [%v, %v]", d, cfg.MinDelay, cfg.MaxDelay)
			}
		}
	})
}
