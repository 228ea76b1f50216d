package room

import (
	"testing"
	"time"

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

// TestDeadlineWaiterWallClock: on the wall clock the waiter wakes once
// ahead of the deadline (sysmonLead) and returns no earlier than it, and
// returns false at once when stop closes in either sleep.
func TestDeadlineWaiterWallClock(t *testing.T) {
	stop := make(chan struct{})
	w := newDeadlineWaiter(media.SystemClock{}, stop)
	defer w.close()
	if w.lead != sysmonLead {
		t.Fatalf("lead %v on the wall clock, want %v", w.lead, sysmonLead)
	}
	for _, ahead := range []time.Duration{0, sysmonLead / 2, 2 * sysmonLead, 5 * time.Millisecond, 20 * time.Millisecond} {
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
