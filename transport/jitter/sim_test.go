package jitter

import (
	"slices"
	"testing"
	"time"
)

// Test harness: a simulated network delivering packets at given arrival
// times, and a mixing clock popping at a fixed cadence.

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type pkt struct {
	seq uint16
	ts  uint32
	at  time.Duration // arrival, since t0
}

// payloadFor encodes the sequence number so tests can check what came out.
func payloadFor(seq uint16) []byte {
	return []byte{byte(seq >> 8), byte(seq), 0xAA, 0x55, byte(seq)}
}

func payloadSeq(p []byte) int {
	if len(p) < 2 {
		return -1
	}
	return int(p[0])<<8 | int(p[1])
}

// stream makes n packets of duration frame (48 kHz) starting at seq/ts;
// packet i arrives at arrival(i).
func stream(seq uint16, ts uint32, n int, frame time.Duration, arrival func(i int) time.Duration) []pkt {
	step := uint32(frame * 48000 / time.Second)
	out := make([]pkt, n)
	for i := range out {
		out[i] = pkt{seq: seq + uint16(i), ts: ts + uint32(i)*step, at: arrival(i)}
	}
	return out
}

func nominal(frame, offset time.Duration) func(int) time.Duration {
	return func(i int) time.Duration { return time.Duration(i)*frame + offset }
}

type event struct {
	at      time.Duration
	status  Status
	seq     uint16
	payload int // sequence number carried in Payload, -1 if none
	next    int // sequence number carried in Next, -1 if none
	delay   time.Duration
}

type simResult struct {
	events  []event
	pushes  []PushResult
	stats   Stats
	maxDly  time.Duration
	minDly  time.Duration
	lastDly time.Duration
}

func (r simResult) played() []uint16 {
	var s []uint16
	for _, e := range r.events {
		if e.status == Packet {
			s = append(s, e.seq)
		}
	}
	return s
}

func (r simResult) lost() []event {
	var s []event
	for _, e := range r.events {
		if e.status == Lost {
			s = append(s, e)
		}
	}
	return s
}

// simulate delivers pkts in arrival order (stable for ties) and pops every
// popEvery starting at popStart until until. Packets are pushed before a
// pop scheduled at the same instant.
func simulate(t testing.TB, b *Buffer, pkts []pkt, popStart, popEvery, until time.Duration) simResult {
	t.Helper()
	pkts = slices.Clone(pkts)
	slices.SortStableFunc(pkts, func(a, b pkt) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	r := simResult{minDly: time.Hour}
	i := 0
	for p := popStart; p <= until; p += popEvery {
		for ; i < len(pkts) && pkts[i].at <= p; i++ {
			k := pkts[i]
			r.pushes = append(r.pushes, b.Push(k.seq, k.ts, payloadFor(k.seq), t0.Add(k.at)))
		}
		res := b.Pop(t0.Add(p))
		e := event{at: p, status: res.Status, seq: res.Seq, payload: -1, next: -1, delay: b.Delay()}
		if res.Status == Packet {
			e.payload = payloadSeq(res.Payload)
			if e.payload != int(res.Seq) {
				t.Fatalf("at %v: payload of seq %d carries %d", p, res.Seq, e.payload)
			}
		}
		if res.Next != nil {
			e.next = payloadSeq(res.Next)
		}
		if res.Status != Lost && res.Next != nil {
			t.Fatalf("at %v: Next set on %v", p, res.Status)
		}
		r.maxDly = max(r.maxDly, e.delay)
		r.minDly = min(r.minDly, e.delay)
		r.lastDly = e.delay
		r.events = append(r.events, e)
	}
	r.stats = b.Stats()
	return r
}

func seqRange(from uint16, n int) []uint16 {
	s := make([]uint16, n)
	for i := range s {
		s[i] = from + uint16(i)
	}
	return s
}

func mustNew(t testing.TB, cfg Config) *Buffer {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func cfgWith(f func(*Config)) Config {
	c := DefaultConfig()
	if f != nil {
		f(&c)
	}
	return c
}

// checkOrder fails if Packet/Lost sequence numbers do not strictly increase.
func checkOrder(t testing.TB, evs []event) {
	t.Helper()
	have := false
	var last uint16
	for _, e := range evs {
		if e.status != Packet && e.status != Lost {
			continue
		}
		if have && int16(e.seq-last) <= 0 {
			t.Fatalf("at %v: seq %d after %d", e.at, e.seq, last)
		}
		last, have = e.seq, true
	}
}
