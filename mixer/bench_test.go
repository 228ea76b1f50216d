package mixer

import (
	"fmt"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

// benchRoom is a mixer with n participants speaking noise-like audio at
// moderate level (peaks ±4000), every fourth at +3 dB, so large rooms drive
// the limiter and both gain paths run.
type benchRoom struct {
	m    *Mixer
	ins  []*Input
	outs []media.AudioFrame
	now  time.Time
}

func newBenchRoom(tb testing.TB, n int) *benchRoom {
	tb.Helper()
	m, err := New(DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	r := &benchRoom{m: m, outs: make([]media.AudioFrame, n), now: t0}
	seed := uint32(1)
	for k := range n {
		in := m.Add(media.ParticipantID(fmt.Sprint(k)))
		if k%4 == 3 {
			if err := in.SetGainDB(3); err != nil {
				tb.Fatal(err)
			}
		}
		for i := range in.Frame().Samples {
			seed = seed*1664525 + 1013904223 // LCG: deterministic noise
			in.Frame().Samples[i] = int16(int32(seed>>16)%8001 - 4000)
		}
		r.ins = append(r.ins, in)
	}
	return r
}

// tick is one full audio tick as the room runs it: every frame present,
// one Mix, one MixMinus per participant, the talking changes read.
func (r *benchRoom) tick() {
	for _, in := range r.ins {
		in.SetPresent(true)
	}
	r.now = r.now.Add(media.FrameDuration)
	r.m.Mix(r.now)
	for k, in := range r.ins {
		r.m.MixMinus(in, &r.outs[k])
	}
	_ = r.m.TalkingChanges()
}

func BenchmarkMix(b *testing.B) {
	for _, n := range []int{2, 10, 100, 500} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			r := newBenchRoom(b, n)
			b.ReportAllocs()
			for b.Loop() {
				r.tick()
			}
		})
	}
}

// TestTickAllocs is the zero-allocation promise of a steady-state tick
// (Mix, MixMinus for everyone, MixAll, TalkingChanges), including ticks
// where talking starts and stops.
func TestTickAllocs(t *testing.T) {
	r := newBenchRoom(t, 10)
	var all media.AudioFrame
	k, changes := 0, 0
	allocs := testing.AllocsPerRun(200, func() {
		// Everyone starts talking on the third tick; half the room falls
		// silent at tick 40 and stops talking 500 ms later, so some measured
		// ticks report TalkingChanges.
		if k == 40 {
			for _, in := range r.ins[:5] {
				in.Frame().Clear()
			}
		}
		k++
		r.tick()
		r.m.MixAll(&all)
		changes += len(r.m.TalkingChanges())
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per tick, want 0", allocs)
	}
	if changes != 15 { // 10 starts, 5 stops
		t.Fatalf("%d talking changes, want 15", changes)
	}
}
