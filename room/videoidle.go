package room

import "time"

// A room where nobody receives video (an audio-only room, plain-RTP legs,
// WebRTC participants who only listen) has nothing to compose, yet its
// video clock woke at the canvas rate: 30 wake-ups a second of a
// goroutine locked to its own thread (lowerThreadPriority), each a thread
// hand-off (futex) on top of the audio clock's 50, for nothing. The clock
// therefore sleeps after a tick that served no one until a participant who
// receives video is activated, or for videoIdlePoll at most; the ticks it
// slept through are not counted as skipped (the schedule's numbering, and
// so the video timestamps, go on with the wall clock).

// videoIdlePoll bounds an idle video clock's sleep: a wake-up lost to a
// path that activates receivers without wakeVideo costs a second, not
// the picture.
const videoIdlePoll = time.Second

// idleVideo sleeps the video clock, on its waiter's timer, until a video
// receiver may have come; false when the room stops first.
func (r *Room) idleVideo(w *deadlineWaiter) bool {
	w.timer.Reset(videoIdlePoll)
	select {
	case <-r.stop:
		return false
	case <-r.videoWake:
		w.timer.Stop() // disarmed while the clock works (fakeclock's settle counts armed timers)
		return true
	case <-w.timer.C():
		return true
	}
}

// wakeVideo ends the video clock's idle sleep, if it sleeps; it never
// blocks (a wake-up already pending is enough).
func (r *Room) wakeVideo() {
	select {
	case r.videoWake <- struct{}{}:
	default:
	}
}
