package room

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/internal/selfcpu"
	"github.com/mcu-project/mcu/media"
)

func TestSchedule(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const p = 20 * time.Millisecond
	type step struct {
		now      time.Duration // since t0
		wantN    int64
		wantDue  time.Duration
		wantSkip int64
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"on time", []step{{0, 0, 0, 0}, {20 * time.Millisecond, 1, 20 * time.Millisecond, 0}, {41 * time.Millisecond, 2, 40 * time.Millisecond, 0}}},
		{"early wake waits for the deadline", []step{{0, 0, 0, 0}, {5 * time.Millisecond, 1, 20 * time.Millisecond, 0}}},
		{"late wake catches up back to back", []step{
			{0, 0, 0, 0},
			{150 * time.Millisecond, 1, 20 * time.Millisecond, 0},
			{150 * time.Millisecond, 2, 40 * time.Millisecond, 0},
			{151 * time.Millisecond, 3, 60 * time.Millisecond, 0},
		}},
		{"stall beyond the bound skips with a count", []step{
			{0, 0, 0, 0},
			{20 * time.Millisecond, 1, 20 * time.Millisecond, 0},
			{530 * time.Millisecond, 26, 520 * time.Millisecond, 24},
			{540 * time.Millisecond, 27, 540 * time.Millisecond, 0},
		}},
		{"no drift over an hour", []step{{time.Hour, 180000, time.Hour, 180000}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSchedule(t0, p, 200*time.Millisecond)
			for i, st := range tc.steps {
				n, due, skip := s.next(t0.Add(st.now))
				if n != st.wantN || due != t0.Add(st.wantDue) || skip != st.wantSkip {
					t.Fatalf("step %d: got n=%d due=%v skip=%d, want n=%d due=%v skip=%d",
						i, n, due.Sub(t0), skip, st.wantN, st.wantDue, st.wantSkip)
				}
			}
		})
	}
}

func TestVideoTS(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		fps  int
		want uint32
	}{
		{0, 30, 0},
		{1, 30, 3000},
		{30, 30, 90000},
		{1, 24, 3750},
		{3, 7, 38571},
		{30 * 3600 * 100, 30, uint32(uint64(100*3600*90000) % (1 << 32))}, // 100 h: wraps like RTP, no drift
	} {
		if got := videoTS(tc.n, tc.fps); got != tc.want {
			t.Errorf("videoTS(%d, %d) = %d, want %d", tc.n, tc.fps, got, tc.want)
		}
	}
}

// TestDeadlineWaiterWallClock: on the wall clock the waiter returns no
// earlier than the deadline, at once for one that has passed, and false
// at once when stop closes.
func TestDeadlineWaiterWallClock(t *testing.T) {
	for _, yield := range []bool{false, true} {
		t.Run(fmt.Sprintf("yield=%v", yield), func(t *testing.T) { testWallClockWaiter(t, yield) })
	}
}

func testWallClockWaiter(t *testing.T, yield bool) {
	stop := make(chan struct{})
	w := newDeadlineWaiter(media.SystemClock{}, stop, yield)
	defer w.close()
	for _, ahead := range []time.Duration{-time.Millisecond, 0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		deadline := time.Now().Add(ahead)
		if !w.wait(deadline) {
			t.Fatalf("%v ahead: wait returned false without stop", ahead)
		}
		if now := time.Now(); now.Before(deadline) {
			t.Fatalf("%v ahead: returned %v before the deadline", ahead, deadline.Sub(now))
		}
	}
	time.AfterFunc(5*time.Millisecond, func() { close(stop) })
	start := time.Now()
	if w.wait(start.Add(time.Minute)) {
		t.Fatal("wait returned true after stop")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %v", d)
	}
}

// BenchmarkClockTick: the process CPU of a 20 ms clock whose ticks make
// 16 cgo calls (an 8-person room's Opus encodes), side by side: the
// waiter that yields at each tick (the audio clock's) and the one that
// does not. The metric is the whole process's CPU per second of ticks
// (getrusage), which includes the Go runtime's sysmon thread; perf trace
// -s shows the difference as sysmon's sleeps and signals.
//
//	go test -run '^$' -bench ClockTick -benchtime 150x -count 3 ./room/
func BenchmarkClockTick(b *testing.B) {
	for _, yield := range []bool{true, false} {
		b.Run(fmt.Sprintf("yield=%v", yield), func(b *testing.B) {
			enc, err := opus.NewEncoder(codec.EncoderParams{})
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			pcm, out := make([]int16, media.FrameSamples), make([]byte, 1500)
			for i := range pcm {
				pcm[i] = int16(8000 * math.Sin(float64(i)*2*math.Pi*440/media.SampleRate))
			}
			w := newDeadlineWaiter(media.SystemClock{}, nil, yield)
			defer w.close()
			cpu0 := selfcpu.Time()
			start := time.Now()
			for i := range b.N {
				w.wait(start.Add(time.Duration(i+1) * media.FrameDuration))
				for range 16 {
					_, _ = enc.Encode(pcm, out)
				}
			}
			b.ReportMetric((selfcpu.Time()-cpu0).Seconds()/time.Since(start).Seconds(), "cpu-s/s")
		})
	}
}
