// Package fakeclock is a media.Clock that tests step by hand: time moves
// only when the test says, and a step first waits until the code under
// test is waiting on its timers again, so clocked goroutines run tick by
// tick without real sleeps.
package fakeclock

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mcu-project/mcu/media"
)

// ErrNotArmed: the goroutines a test waits for did not arm their timers
// within the real-time limit.
var ErrNotArmed = errors.New("fakeclock: timers not armed")

// Clock is a steppable media.Clock.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*timer]struct{} // armed
	armed  *sync.Cond
}

// New returns a clock standing at start.
func New(start time.Time) *Clock {
	c := &Clock{now: start, timers: map[*timer]struct{}{}}
	c.armed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a stopped timer.
func (c *Clock) NewTimer() media.Timer {
	return &timer{c: c, ch: make(chan time.Time, 1)}
}

// Armed is the number of timers waiting to fire.
func (c *Clock) Armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitArmed waits until at least n timers are armed: the clocked
// goroutines have done their work and wait for their next deadline. It
// gives up after limit of real time.
func (c *Clock) WaitArmed(n int, limit time.Duration) error {
	// end comes before the timer that wakes the waiter: the wake-up can
	// then never come before end and be lost while the waiter still sees
	// time left.
	end := time.Now().Add(limit)
	give := time.AfterFunc(limit, func() {
		c.mu.Lock()
		c.armed.Broadcast()
		c.mu.Unlock()
	})
	defer give.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		if !time.Now().Before(end) {
			return fmt.Errorf("%w: %d of %d after %v", ErrNotArmed, len(c.timers), n, limit)
		}
		c.armed.Wait()
	}
	return nil
}

// Step moves time to the earliest armed timer's deadline and fires every
// timer due by then; with none armed, time stays. It returns the new time.
func (c *Clock) Step() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var next time.Time
	for t := range c.timers {
		if next.IsZero() || t.at.Before(next) {
			next = t.at
		}
	}
	if next.After(c.now) {
		c.now = next
	}
	c.fireLocked()
	return c.now
}

// Advance moves time forward by d and fires every timer due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

func (c *Clock) fireLocked() {
	for t := range c.timers {
		if !t.at.After(c.now) {
			delete(c.timers, t)
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
}

type timer struct {
	c  *Clock
	ch chan time.Time
	at time.Time // under c.mu
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Reset(d time.Duration) {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.at = c.now.Add(d)
	c.timers[t] = struct{}{}
	c.fireLocked()
	c.armed.Broadcast()
}

func (t *timer) Stop() {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.timers, t)
}
