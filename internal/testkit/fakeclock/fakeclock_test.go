package fakeclock

import (
	"errors"
	"testing"
	"time"
)

func TestStepFiresTheEarliestTimer(t *testing.T) {
	start := time.Unix(1000, 0)
	c := New(start)
	a, b := c.NewTimer(), c.NewTimer()
	a.Reset(20 * time.Millisecond)
	b.Reset(33 * time.Millisecond)
	if got := c.Armed(); got != 2 {
		t.Fatalf("armed %d, want 2", got)
	}
	if now := c.Step(); !now.Equal(start.Add(20 * time.Millisecond)) {
		t.Fatalf("step to %v", now.Sub(start))
	}
	select {
	case at := <-a.C():
		if !at.Equal(start.Add(20 * time.Millisecond)) {
			t.Fatalf("a fired at %v", at.Sub(start))
		}
	default:
		t.Fatal("a did not fire")
	}
	select {
	case <-b.C():
		t.Fatal("b fired early")
	default:
	}
	b.Stop()
	if now := c.Step(); !now.Equal(start.Add(20 * time.Millisecond)) {
		t.Fatalf("a step with nothing armed moved time to %v", now.Sub(start))
	}
	a.Reset(0) // due now: fires at once
	select {
	case <-a.C():
	default:
		t.Fatal("a timer reset to 0 did not fire")
	}
	c.Advance(time.Second)
	if got := c.Now().Sub(start); got != 1020*time.Millisecond {
		t.Fatalf("now %v", got)
	}
}

func TestWaitArmed(t *testing.T) {
	c := New(time.Unix(0, 0))
	tm := c.NewTimer()
	go func() {
		time.Sleep(10 * time.Millisecond)
		tm.Reset(time.Second)
	}()
	if err := c.WaitArmed(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitArmed(2, 50*time.Millisecond); !errors.Is(err, ErrNotArmed) {
		t.Fatalf("waiting for a timer nobody arms: %v", err)
	}
}
