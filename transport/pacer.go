package transport

import (
	"math"
	"time"
)

const (
	// pacingFactor is the pacer's rate as a multiple of the receiver's
	// estimate. libwebrtc paces at 2.5×; we pace tighter because the
	// bottlenecks our receivers sit behind (access links, mobile) may
	// queue only ~50 ms: at 1.5× a keyframe fills such a queue a third as
	// fast as it arrives, at 2.5× it overflows it within tens of ms.
	pacingFactor = 1.5
	// minPaceBps is the slowest the pacer goes, whatever the estimate.
	minPaceBps = int(pacingFactor * minEstimate)
	// paceBurst is how far ahead of the paced schedule packets may leave
	// together: a keyframe goes out in bunches of a few ms, not at once.
	paceBurst = 5 * time.Millisecond
	// minBurstBytes lets at least one full packet through per burst.
	minBurstBytes = maxVideoPayload + 50
	// maxPaceDelay bounds the queue in time at the current pacing rate:
	// a frame that would wait longer is dropped (with every later one up
	// to a keyframe) instead of adding delay the receiver would see.
	maxPaceDelay = 400 * time.Millisecond
	// maxPacedPackets bounds the queue in packets whatever the rate.
	maxPacedPackets = 1024
)

// pacedPacket is one RTP payload of a frame waiting for its turn.
type pacedPacket struct {
	payload  []byte
	ts       uint32
	marker   bool
	at       time.Time // room-clock time of the frame
	queuedAt time.Time
}

// pacer spreads a receiver's media over time at a bounded rate, a
// multiple of its link estimate or of the media coming in, whichever is
// higher: a leaky bucket that every byte sent toward the receiver fills
// (audio, video, padding) and that drains at the pacing rate. It smooths
// bursts (a keyframe leaves at the link's pace, not at once) but does not
// throttle: an estimate that dips below the rung being sent (a stalled
// sender makes it dip on a good link) must not make the pacer drop frames;
// moving to a rung that fits is the ladder's job. Audio is never queued: it leaves at once and only
// pushes the video queued behind it later. Video packets wait in a
// bounded queue; a frame that does not fit is dropped, and so is every
// later one until a keyframe. It is pure (time is passed in) and not
// safe for concurrent use.
type pacer struct {
	rate int // bits/s, from the estimate
	// limit, when set, is a hard cap on the pacing rate: the link was
	// just seen to deliver only that much (a sudden drop). The pacer then
	// throttles, dropping frames to the next keyframe rather than
	// flooding a bottleneck that loses most of them.
	limit int
	// inBytes is what is pushed (video, and the audio and probe padding
	// sent around the queue: they drain the same bucket), decaying with a
	// one-second time
	// constant: about the bytes of the last second.
	inBytes float64
	inAt    time.Time
	debt    float64 // bytes sent ahead of the pacing schedule
	last    time.Time
	queue   []pacedPacket
	head    int // queue[head:] is waiting
	bytes   int // queued payload bytes
	// waitKey: a frame was dropped, so later ones are useless until a
	// keyframe.
	waitKey bool
}

func newPacer(rateBps int) *pacer {
	pc := &pacer{}
	pc.setRate(rateBps)
	return pc
}

// setRate sets the pacing rate in bits/s (at least minPaceBps).
func (pc *pacer) setRate(bps int) { pc.rate = max(bps, minPaceBps) }

// setLimit caps the pacing rate at bps (0: no cap).
func (pc *pacer) setLimit(bps int) { pc.limit = bps }

// pace is the pacing rate in bits/s.
func (pc *pacer) pace() float64 {
	p := max(float64(pc.rate), pacingFactor*8*pc.inBytes)
	if pc.limit > 0 {
		p = min(p, float64(max(pc.limit, minPaceBps)))
	}
	return p
}

// drain lets the bucket empty for the time since the last call.
func (pc *pacer) drain(now time.Time) {
	if !pc.last.IsZero() && now.After(pc.last) {
		pc.debt = max(0, pc.debt-pc.pace()/8*now.Sub(pc.last).Seconds())
	}
	if now.After(pc.last) {
		pc.last = now
	}
}

// sent records n bytes that left toward the receiver at now outside the
// queue (audio, padding).
func (pc *pacer) sent(n int, now time.Time) {
	pc.drain(now)
	pc.debt += float64(n)
}

func (pc *pacer) burstBytes() float64 {
	return max(pc.pace()/8*paceBurst.Seconds(), minBurstBytes)
}

// delay is how long the queued bytes take to leave at the pacing rate.
func (pc *pacer) delay() time.Duration {
	return time.Duration(float64(pc.bytes) * 8 / pc.pace() * float64(time.Second))
}

// arrived counts size bytes of video pushed at now into the input rate.
func (pc *pacer) arrived(size int, now time.Time) {
	if !pc.inAt.IsZero() && now.After(pc.inAt) {
		pc.inBytes *= math.Exp(-now.Sub(pc.inAt).Seconds())
	}
	if now.After(pc.inAt) {
		pc.inAt = now
	}
	pc.inBytes += float64(size)
}

func (pc *pacer) queued() int { return len(pc.queue) - pc.head }

// push queues the payloads of one frame. It returns false when the frame
// is dropped: it would not leave within maxPaceDelay, or it follows a
// dropped frame and is not a keyframe. A keyframe that does not fit
// replaces what is queued: nothing before it is needed any more.
func (pc *pacer) push(payloads [][]byte, key bool, ts uint32, at, now time.Time) bool {
	size := 0
	for _, pl := range payloads {
		size += len(pl)
	}
	pc.arrived(size, now) // dropped or not: the rate of what comes in
	if pc.waitKey && !key {
		return false
	}
	fits := func() bool {
		after := time.Duration(float64(pc.bytes+size) * 8 / pc.pace() * float64(time.Second))
		return after <= maxPaceDelay && pc.queued()+len(payloads) <= maxPacedPackets
	}
	if !fits() {
		if !key {
			pc.waitKey = true
			return false
		}
		pc.flush()
	}
	pc.waitKey = false
	if pc.head > 0 && pc.head == len(pc.queue) {
		pc.queue, pc.head = pc.queue[:0], 0
	}
	for i, pl := range payloads {
		pc.queue = append(pc.queue, pacedPacket{payload: pl, ts: ts, marker: i == len(payloads)-1, at: at, queuedAt: now})
		pc.bytes += len(pl)
	}
	return true
}

// flush empties the queue.
func (pc *pacer) flush() {
	clear(pc.queue)
	pc.queue, pc.head, pc.bytes = pc.queue[:0], 0, 0
}

// next returns the packet that may leave at now, counting it as sent; or,
// when none may, how long until one may (0: the queue is empty).
func (pc *pacer) next(now time.Time) (pacedPacket, bool, time.Duration) {
	if pc.queued() == 0 {
		return pacedPacket{}, false, 0
	}
	pc.drain(now)
	if over := pc.debt - pc.burstBytes(); over > 0 {
		wait := time.Duration(over * 8 / pc.pace() * float64(time.Second))
		return pacedPacket{}, false, max(wait, time.Millisecond)
	}
	pk := pc.queue[pc.head]
	pc.queue[pc.head] = pacedPacket{}
	pc.head++
	pc.bytes -= len(pk.payload)
	pc.debt += float64(len(pk.payload))
	return pk, true, 0
}

// idle reports whether no video waits: padding may go out then. It is not
// held to the pacing rate: a probe's padding is the ladder's deliberate
// test of more than the estimate, already spread over padInterval ticks.
func (pc *pacer) idle() bool { return pc.queued() == 0 }
