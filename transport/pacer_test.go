package transport

import (
	"testing"
	"time"
)

// frame returns n payloads of size bytes each.
func frame(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
	}
	return out
}

// drainPacer runs the pacer from now until its queue is empty, as the
// sender goroutine does (sleeping the waits it is told), and returns the
// send time of every packet.
func drainPacer(t *testing.T, pc *pacer, now time.Time) []time.Time {
	t.Helper()
	var at []time.Time
	for range 100_000 {
		_, ok, wait := pc.next(now)
		switch {
		case ok:
			at = append(at, now)
		case wait == 0:
			return at
		default:
			now = now.Add(wait)
		}
	}
	t.Fatal("the pacer never emptied")
	return nil
}

// TestPacerBoundsRate: a burst of frames leaves no faster than the pacing
// rate over any window longer than the burst allowance, and a keyframe's
// packets are spread over its pacing time rather than sent at once.
func TestPacerBoundsRate(t *testing.T) {
	const rate = 450_000 // 1.5 × a 300 kb/s estimate
	t0 := time.Unix(1000, 0)
	pc := newPacer(rate)
	if !pc.push(frame(20, 1200), true, 1, t0, t0) { // a 24 KB keyframe
		t.Fatal("a keyframe into an empty queue was dropped")
	}
	at := drainPacer(t, pc, t0)
	if len(at) != 20 {
		t.Fatalf("%d packets left, want 20", len(at))
	}
	took := at[len(at)-1].Sub(at[0])
	// 24 KB at 450 kb/s is 427 ms, less what the first burst lets out.
	full := time.Duration(20 * 1200 * 8 * int64(time.Second) / rate)
	if least := full - time.Duration(2*pc.burstBytes()*8/rate*float64(time.Second)); took < least || took > full {
		t.Errorf("the keyframe took %v to leave, want %v to %v", took, least, full)
	}
	burst := pc.burstBytes()
	for i := range at {
		for j := i + 1; j < len(at); j++ {
			bytes := float64((j - i + 1) * 1200)
			allowed := float64(rate)/8*at[j].Sub(at[i]).Seconds() + burst + 1200
			if bytes > allowed {
				t.Fatalf("packets %d..%d: %.0f bytes in %v, above the rate", i, j, bytes, at[j].Sub(at[i]))
			}
		}
	}
}

// TestPacerAudioFirst: audio is never queued; what it sends delays the
// queued video by its own pacing time, so audio plus video stays within the
// rate.
func TestPacerAudioFirst(t *testing.T) {
	const rate = 400_000
	t0 := time.Unix(1000, 0)
	pc := newPacer(rate)
	pc.push(frame(4, 1000), false, 1, t0, t0)
	if _, ok, _ := pc.next(t0); !ok {
		t.Fatal("the first packet did not leave at once")
	}
	var before time.Duration
	for ok := true; ok; {
		_, ok, before = pc.next(t0) // what the burst lets out at once
	}
	pc.sent(5000, t0) // a lot of audio, sent at once
	_, _, after := pc.next(t0)
	want := time.Duration(5000 * 8 / float64(rate) * float64(time.Second))
	if d := after - before; d < want-time.Millisecond || d > want+time.Millisecond {
		t.Errorf("5000 bytes of audio delayed video by %v, want %v", d, want)
	}
	if pc.idle() {
		t.Error("padding may be sent while video is queued")
	}
}

// TestPacerBoundedQueue: a frame that would wait longer than maxPaceDelay
// is dropped, later delta frames too, until a keyframe, which replaces the
// stale queue.
func TestPacerBoundedQueue(t *testing.T) {
	const rate = 100_000 // 400 ms of it is 5 kB
	t0 := time.Unix(1000, 0)
	pc := newPacer(rate)
	if !pc.push(frame(3, 1000), true, 1, t0, t0) || !pc.push(frame(1, 1000), false, 2, t0, t0) {
		t.Fatal("frames that fit were dropped")
	}
	if pc.push(frame(2, 1000), false, 3, t0, t0) {
		t.Fatal("a frame beyond maxPaceDelay was queued")
	}
	if pc.push(frame(1, 100), false, 4, t0, t0) {
		t.Fatal("a delta frame after a drop was queued: the receiver could not decode it")
	}
	if d := pc.delay(); d > maxPaceDelay {
		t.Fatalf("queue delay %v beyond %v", d, maxPaceDelay)
	}
	if !pc.push(frame(5, 1000), true, 5, t0, t0) {
		t.Fatal("a keyframe was dropped")
	}
	if pc.queued() != 5 {
		t.Fatalf("%d packets queued, want only the keyframe's 5", pc.queued())
	}
	if !pc.push(frame(0, 0), false, 6, t0, t0) {
		t.Fatal("after the keyframe, delta frames are queued again")
	}
	pk, ok, _ := pc.next(t0)
	if !ok || pk.ts != 5 {
		t.Fatalf("first out: ts %d, want the keyframe's 5", pk.ts)
	}
}

// TestPacerFollowsRate: the rate is floored at minPaceBps and a new rate
// applies to what is queued.
func TestPacerFollowsRate(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pc := newPacer(0)
	if pc.rate != minPaceBps {
		t.Fatalf("rate %d, want the floor %d", pc.rate, minPaceBps)
	}
	pc.setRate(1_000_000)
	pc.push(frame(10, 1250), false, 1, t0, t0)
	at := drainPacer(t, pc, t0)
	if took := at[len(at)-1].Sub(at[0]); took > 100*time.Millisecond || took < 80*time.Millisecond {
		t.Errorf("12.5 kB at 1 Mb/s took %v, want about 90 ms", took)
	}
	if !pc.idle() {
		t.Error("a drained pacer is not idle: padding could not go out")
	}
}

// TestPacerDoesNotThrottle: video coming in faster than the estimate
// allows (the estimate dipped on a good link) is paced at a multiple of its
// own rate once the pacer has seen a second of it: it is smoothed, not
// dropped.
func TestPacerDoesNotThrottle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	pc := newPacer(300_000)
	pc.setRate(300_000)
	now := t0
	frameEvery := 33 * time.Millisecond // 4 kB frames at 30 fps: ~1 Mb/s
	drops := 0
	for i := 0; now.Before(t0.Add(4 * time.Second)); i++ {
		if !pc.push(frame(4, 1000), i%60 == 0, uint32(i), now, now) && now.After(t0.Add(2*time.Second)) {
			drops++
		}
		end := now.Add(frameEvery)
		for now.Before(end) {
			_, ok, wait := pc.next(now)
			if !ok {
				if wait == 0 || now.Add(wait).After(end) {
					break
				}
				now = now.Add(wait)
			}
		}
		now = end
	}
	if drops > 0 {
		t.Fatalf("%d frames dropped in the last 2 s of a steady 1 Mb/s with a 300 kb/s estimate", drops)
	}
	if p := pc.pace(); p < 1_400_000 {
		t.Fatalf("pacing at %.0f b/s, want about 1.5 × the 1 Mb/s coming in", p)
	}
}
