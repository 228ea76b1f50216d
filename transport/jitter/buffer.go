package jitter

import (
	"time"
)

const (
	extSeqBase = int64(1) << 32 // extended sequence numbers start here (never negative)
	extTsBase  = int64(1) << 40 // extended timestamps start here
	minPayCap  = 512            // smallest payload buffer allocated, so VBR size changes rarely reallocate
	historyLen = 64             // how many played-out sequence numbers are remembered for duplicate detection
)

// Buffer is an adaptive audio jitter buffer for one RTP stream (one SSRC).
//
// It is not safe for concurrent use: the caller serialises Push, Pop and the
// other methods (e.g. one mutex shared by the network goroutine and the
// mixing clock). It starts no goroutines and never reads the clock: times
// are passed in and must come from one monotonic clock.
type Buffer struct {
	cfg  Config
	rate int64
	n    int64 // len(slots) == MaxPackets
	// frame bounds, in timestamp units
	minFrame, maxFrame int64

	slots []slot

	active  bool // a stream is established (a packet arrived since New/Reset)
	started bool // playout has begun at least once: packets behind nextSeq are late
	playing bool // false while (re)buffering

	epoch     time.Time     // arrival of the stream's first packet; times below are durations since it
	tsOrigin  int64         // extended timestamp of the stream's first packet
	nextSeq   int64         // extended sequence number playout needs next
	highest   int64         // highest extended sequence number accepted (buffered whenever count > 0)
	highestTs int64         // its extended timestamp
	count     int           // packets buffered
	firstArr  time.Duration // arrival of the packet that made the buffer non-empty
	frame     int64         // estimated packet duration, timestamp units
	history   uint64        // bit i: packet nextSeq-1-i was received (played or dropped)

	over      bool          // excess above a frame at every Pop since overSince
	overSince time.Duration //
	overMin   time.Duration // smallest excess seen since overSince

	est   estimator
	clock time.Duration // latest time seen (arrival or Pop), for Delay and Stats

	lossSeen bool          // a loss was seen since the stream began: a Lost handed out, or a gap while playing
	lastLoss time.Duration // when, for lossHold

	out   []byte // Result.Payload
	next  []byte // Result.Next
	stats Stats
}

type slot struct {
	ext     int64
	ts      int64
	arr     time.Duration // arrival, since epoch
	payload []byte
	present bool
}

// New validates cfg (zero optional fields take their defaults) and returns
// an empty Buffer. Errors wrap ErrInvalidConfig.
func New(cfg Config) (*Buffer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rate := int64(cfg.ClockRate)
	b := &Buffer{
		cfg:      cfg,
		rate:     rate,
		n:        int64(cfg.MaxPackets),
		minFrame: max(rate/400, 1),  // 2.5 ms
		maxFrame: rate * 120 / 1000, // 120 ms
		slots:    make([]slot, cfg.MaxPackets),
	}
	b.frame = b.defaultFrame()
	return b, nil
}

func (b *Buffer) defaultFrame() int64 { return b.rate * 20 / 1000 }

// Reset forgets the stream (e.g. on an SSRC change): buffered packets are
// dropped (counted in Stats.DroppedResync), the jitter estimate and packet
// duration return to their initial values, and the next Push starts a new
// stream. Cumulative Stats counters are kept. Payload buffers are kept for
// reuse.
func (b *Buffer) Reset() {
	b.flush()
	b.active, b.started, b.playing = false, false, false
	b.est.reset()
	b.frame = b.defaultFrame()
	b.clock = 0
	b.over = false
	b.history = 0
	b.lossSeen = false
}

// flush drops every buffered packet, counting them as DroppedResync.
func (b *Buffer) flush() {
	for i := range b.slots {
		if b.slots[i].present {
			b.slots[i].present = false
			b.stats.DroppedResync++
		}
	}
	b.count = 0
}

// begin starts a new stream with its first packet (not yet stored).
func (b *Buffer) begin(seq uint16, ts uint32, arrival time.Time) {
	b.active, b.started, b.playing = true, false, false
	b.epoch = arrival
	b.highest = extSeqBase + int64(seq)
	b.highestTs = extTsBase + int64(ts)
	b.tsOrigin = b.highestTs
	b.nextSeq = b.highest
	b.history = 0
	b.over = false
	b.clock = 0
	b.lossSeen = false
}

// Push stores a copy of payload as packet seq with RTP timestamp ts that
// arrived at arrival. It never blocks and, once the payload buffers have
// grown to the stream's packet sizes, never allocates.
func (b *Buffer) Push(seq uint16, ts uint32, payload []byte, arrival time.Time) PushResult {
	b.stats.Pushed++
	if !b.active {
		b.begin(seq, ts, arrival)
		b.est.update(0, 0, b.cfg.ResyncTransit)
		b.store(b.highest, b.highestTs, payload, 0)
		return Accepted
	}
	diff := int64(int16(seq - uint16(b.highest)))
	if diff > int64(b.cfg.ResyncPackets) || diff < -int64(b.cfg.ResyncPackets) {
		return b.resync(seq, ts, payload, arrival)
	}
	arr := arrival.Sub(b.epoch)
	b.clock = max(b.clock, arr)
	ext := b.highest + diff
	extTs := b.highestTs + int64(int32(ts-uint32(b.highestTs)))
	transit := arr - b.tsToDur(extTs-b.tsOrigin)
	plausible := b.plausible(transit)

	// Behind the playout point (or, before playout, too old for the window).
	if ext < b.nextSeq && (b.started || b.highest-ext >= b.n) {
		if age := b.nextSeq - 1 - ext; age < historyLen && b.history>>uint(age)&1 == 1 {
			b.stats.Duplicates++
			return Duplicate
		}
		if plausible {
			// A late packet measures jitter we failed to absorb.
			b.est.update(arr, transit, b.cfg.ResyncTransit)
		}
		b.stats.Late++
		return Late
	}
	if b.present(ext) {
		b.stats.Duplicates++
		return Duplicate
	}
	if !plausible {
		return b.resync(seq, ts, payload, arrival)
	}
	b.est.update(arr, transit, b.cfg.ResyncTransit)

	res := Accepted
	if ext < b.nextSeq { // before playout: an earlier packet arrived late
		b.nextSeq = ext
	}
	if ext >= b.nextSeq+b.n && b.evict(ext) {
		res = Overflow
	}
	b.store(ext, extTs, payload, arr)
	if ext > b.highest {
		if ext == b.highest+1 {
			b.learnFrame(extTs - b.highestTs)
		} else if b.started {
			// A gap: switch to the cushioned playout (ready) now, not
			// once the missing packet is handed out as Lost. On a clean
			// link playout runs less than a frame behind arrivals, so the
			// missing packet's Pop finds the buffer empty (an underrun);
			// the rebuffer after it then keeps a packet of cushion, and
			// the next losses find their successor buffered, for FEC.
			b.lossSeen, b.lastLoss = true, arr
		}
		b.highest, b.highestTs = ext, extTs
	}
	return res
}

// plausible reports whether transit is within ResyncTransit of the base.
func (b *Buffer) plausible(transit time.Duration) bool {
	d := transit - b.est.base
	return !b.est.has || (d <= b.cfg.ResyncTransit && d >= -b.cfg.ResyncTransit)
}

// resync flushes the buffer and starts a new stream with this packet. The
// jitter estimate carries over (same network path); the transit base does
// not (the timestamp base changed).
func (b *Buffer) resync(seq uint16, ts uint32, payload []byte, arrival time.Time) PushResult {
	j := b.est.jitterAt(b.clock)
	b.flush()
	b.stats.Resyncs++
	b.begin(seq, ts, arrival)
	b.est.reset()
	b.est.peak = j
	b.est.update(0, 0, b.cfg.ResyncTransit)
	b.store(b.highest, b.highestTs, payload, 0)
	return Resynced
}

// evict makes room for ext (>= nextSeq+n) by advancing the playout point to
// ext-n+1, dropping buffered packets below it; if nothing is left buffered
// it jumps straight to ext. It reports whether a buffered packet was dropped.
func (b *Buffer) evict(ext int64) bool {
	newBase := ext - b.n + 1
	evicted := false
	for b.count > 0 && b.nextSeq < newBase {
		if s := &b.slots[b.nextSeq%b.n]; s.present && s.ext == b.nextSeq {
			s.present = false
			b.count--
			b.stats.DroppedOverflow++
			evicted = true
			b.advance(true)
		} else {
			b.stats.Lost++
			b.advance(false)
		}
	}
	if b.count == 0 && b.nextSeq < ext {
		gap := ext - b.nextSeq
		b.stats.Lost += uint64(gap)
		b.skip(gap)
	}
	return evicted
}

func (b *Buffer) store(ext, extTs int64, payload []byte, arr time.Duration) {
	s := &b.slots[ext%b.n]
	if cap(s.payload) < len(payload) {
		s.payload = make([]byte, 0, max(2*len(payload), minPayCap))
	}
	s.payload = append(s.payload[:0], payload...)
	s.ext, s.ts, s.arr, s.present = ext, extTs, arr, true
	if b.count == 0 {
		b.firstArr = arr
	}
	b.count++
	b.stats.Accepted++
}

func (b *Buffer) learnFrame(d int64) {
	if d >= b.minFrame && d <= b.maxFrame {
		b.frame = d
	}
}

func (b *Buffer) present(ext int64) bool {
	s := &b.slots[ext%b.n]
	return s.present && s.ext == ext
}

// advance moves the playout point past one sequence number.
func (b *Buffer) advance(received bool) {
	b.history <<= 1
	if received {
		b.history |= 1
	}
	b.nextSeq++
}

// skip moves the playout point past k missing sequence numbers.
func (b *Buffer) skip(k int64) {
	if k >= historyLen {
		b.history = 0
	} else {
		b.history <<= uint(k)
	}
	b.nextSeq += k
}

// firstAfter returns the first buffered sequence number after ext; count
// must be > 0 and ext < highest.
func (b *Buffer) firstAfter(ext int64) int64 {
	for e := ext + 1; e < b.highest; e++ {
		if b.present(e) {
			return e
		}
	}
	return b.highest
}

// headTs is the (estimated, if missing) timestamp of nextSeq; count > 0.
func (b *Buffer) headTs() int64 {
	if s := &b.slots[b.nextSeq%b.n]; s.present && s.ext == b.nextSeq {
		return s.ts
	}
	f := b.firstAfter(b.nextSeq)
	return b.slots[f%b.n].ts - (f-b.nextSeq)*b.frame
}

// depthTs is the buffered audio in timestamp units: from the playout point
// to the end of the newest packet, gaps included.
func (b *Buffer) depthTs() int64 {
	if b.count == 0 {
		return 0
	}
	return max(b.highestTs+b.frame-b.headTs(), 0)
}

// headDur is the duration of the (present) head packet.
func (b *Buffer) headDur() int64 {
	if b.present(b.nextSeq + 1) {
		d := b.slots[(b.nextSeq+1)%b.n].ts - b.slots[b.nextSeq%b.n].ts
		if d >= b.minFrame && d <= b.maxFrame {
			return d
		}
	}
	return b.frame
}

// Pop hands out what the caller should decode for the next piece of audio;
// see Status. now is the caller's current time on the same clock as the
// arrival times given to Push.
func (b *Buffer) Pop(now time.Time) Result {
	if !b.active {
		return b.empty()
	}
	t := now.Sub(b.epoch)
	b.clock = max(b.clock, t)
	target := b.target(t)
	targetTs := b.durToTs(target)

	if !b.playing {
		if b.count == 0 || (b.depthTs() < targetTs && !b.ready(t, target)) {
			return b.empty()
		}
		b.playing, b.started, b.over = true, true, false
	}
	if b.count == 0 {
		b.playing = false
		b.stats.Underruns++
		return b.empty()
	}

	b.checkShrink(t, target)

	if s := &b.slots[b.nextSeq%b.n]; s.present && s.ext == b.nextSeq {
		r := Result{Status: Packet, Seq: uint16(b.nextSeq), Waited: t - s.arr}
		if !b.lossHeld(t) {
			r.Slack, r.Timed = t-b.headDue(target), true
		}
		b.out, s.payload = s.payload, b.out[:0]
		s.present = false
		b.count--
		b.advance(true)
		b.stats.Played++
		r.Payload = b.out
		return r
	}

	// The head is missing but a later packet is buffered.
	f := b.firstAfter(b.nextSeq)
	fs := &b.slots[f%b.n]
	gap := f - b.nextSeq
	headTs := fs.ts - gap*b.frame
	depth := max(b.highestTs+b.frame-headTs, 0)
	afterGap := b.highestTs + b.frame - fs.ts
	over := targetTs + 2*b.frame
	deadline := b.tsToDur(headTs-b.tsOrigin) + b.est.base + target - b.tsToDur(b.frame)
	if afterGap < targetTs && t < deadline && depth <= over {
		b.stats.Waits++
		return b.empty()
	}
	var skip int64
	if depth > over {
		// Concealing every missing packet would only add latency: skip
		// the missing ones beyond what brings us back near the target.
		skip = min(max((depth-targetTs-b.frame)/b.frame, 0), gap-1)
	}
	seq := b.nextSeq + skip
	b.stats.Lost += uint64(skip + 1)
	b.stats.LostPops++
	b.lossSeen, b.lastLoss = true, t
	b.skip(skip + 1)
	r := Result{Status: Lost, Seq: uint16(seq)}
	if f == b.nextSeq {
		b.next = append(b.next[:0], fs.payload...)
		r.Next = b.next
	}
	return r
}

func (b *Buffer) empty() Result {
	b.stats.EmptyPops++
	var seq uint16
	if b.active {
		seq = uint16(b.nextSeq)
	}
	return Result{Status: Empty, Seq: seq}
}

// ready reports whether (re)buffering may end before the depth reaches
// the target. On a clean link the head packet must be due (headDue): a
// fraction of a frame of jitter then costs that fraction, not a whole
// packet. For lossHold after a loss the head must instead have waited the
// whole target since it arrived, which keeps at least one packet of
// cushion: FEC recovers packet N from N+1, so N+1 must be buffered when N
// is declared lost, and the cushion absorbs the jitter estimate's swings
// that would otherwise make a missing packet be waited for (concealed)
// before it is declared lost.
func (b *Buffer) ready(t, target time.Duration) bool {
	if b.lossHeld(t) {
		return t-b.firstArr >= target
	}
	return t >= b.headDue(target)
}

// headDue is when playout of the head packet may begin: its expected
// arrival (the fastest recent transit plus its timestamp) plus the jitter
// allowance, target − frame. A packet played at its due time leaves every
// later packet that arrives within the allowance in time for its own turn,
// since both advance one frame per Pop. Before the first playout of a
// stream one more frame is allowed: the estimate has seen too few packets
// to trust, and shrinking takes the frame back once it has.
func (b *Buffer) headDue(target time.Duration) time.Duration {
	allow := target - b.tsToDur(b.frame)
	if !b.started {
		allow += b.tsToDur(b.frame)
	}
	return b.tsToDur(b.headTs()-b.tsOrigin) + b.est.base + allow
}

// excess is how much buffered audio Pops could do without: on a clean
// link the head's slack beyond its due time; for lossHold after a loss the
// depth beyond target + 1 frame (the cushion ready keeps).
func (b *Buffer) excess(t, target time.Duration) time.Duration {
	if b.lossHeld(t) {
		return b.tsToDur(b.depthTs()) - target - b.tsToDur(b.frame)
	}
	return t - b.headDue(target)
}

// checkShrink drops buffered audio when the excess has stayed above a
// frame at every Pop for ShrinkAfter: the smallest excess seen over that
// period, in whole frames, is dropped from the head, keeping at least the
// newest packet. Excess is waiting beyond what the jitter estimate (and
// after a loss, the FEC cushion) asks for, so dropping it cannot make a
// later packet late. This follows clock drift, bursts after network
// stalls, a target that decayed, and takes back the first playout's extra
// frame. count > 0.
func (b *Buffer) checkShrink(t, target time.Duration) {
	ex := b.excess(t, target)
	frame := b.tsToDur(b.frame)
	if ex <= frame {
		b.over = false
		return
	}
	if !b.over {
		b.over, b.overSince, b.overMin = true, t, ex
	} else if ex < b.overMin {
		b.overMin = ex
	}
	if t-b.overSince < b.cfg.ShrinkAfter {
		return
	}
	b.over = false
	drop := b.durToTs(b.overMin)
	for drop >= b.frame && b.count > 1 {
		if s := &b.slots[b.nextSeq%b.n]; s.present && s.ext == b.nextSeq {
			drop -= b.headDur()
			s.present = false
			b.count--
			b.stats.DroppedShrink++
			b.advance(true)
		} else {
			drop -= b.frame
			b.stats.Lost++
			b.advance(false)
		}
	}
}

// lossHold is how long after a loss the target keeps one extra packet.
const lossHold = 10 * time.Second

// target is the target delay at time t: one packet plus the jitter
// estimate, plus one more packet for lossHold after a loss, clamped to
// [MinDelay, MaxDelay]. The extra packet is what makes in-band FEC work:
// FEC recovers packet N from packet N+1, so N+1 must already be buffered
// when N is due; without loss it would only add latency.
func (b *Buffer) target(t time.Duration) time.Duration {
	d := b.tsToDur(b.frame) + b.est.jitterAt(t)
	if b.lossHeld(t) {
		d += b.tsToDur(b.frame)
	}
	return min(max(d, b.cfg.MinDelay), b.cfg.MaxDelay)
}

// lossHeld reports whether t is within lossHold of the last loss.
func (b *Buffer) lossHeld(t time.Duration) bool { return b.lossSeen && t-b.lastLoss < lossHold }

// Delay returns the current target delay.
func (b *Buffer) Delay() time.Duration { return b.target(b.clock) }

// Stats returns the counters and current values.
func (b *Buffer) Stats() Stats {
	s := b.stats
	s.Depth = b.count
	s.Buffered = b.tsToDur(b.depthTs())
	s.Target = b.Delay()
	s.Jitter = b.est.jitterAt(b.clock)
	s.FrameDuration = b.tsToDur(b.frame)
	return s
}

func (b *Buffer) tsToDur(ts int64) time.Duration {
	return time.Duration(ts/b.rate)*time.Second + time.Duration(ts%b.rate)*time.Second/time.Duration(b.rate)
}

func (b *Buffer) durToTs(d time.Duration) int64 {
	return int64(d/time.Second)*b.rate + int64(d%time.Second)*b.rate/int64(time.Second)
}
