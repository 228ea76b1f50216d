package transport

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// VP8Assembler rebuilds VP8 frames from RTP packets (RFC 7741). A frame is
// complete when its first packet (S=1, partition 0), its last (marker) and
// every sequence number between them have arrived; it is emitted at once,
// without waiting for the next frame. Packets may arrive out of order within
// the frames still pending. A frame that cannot complete (a lost packet not
// retransmitted within maxWait) is dropped and the next emitted frame is
// flagged as following a loss, so the caller can wait for a keyframe.
// Not safe for concurrent use.
type VP8Assembler struct {
	maxWait time.Duration
	pending []vp8Frame // ordered by RTP timestamp (oldest first)
	free    []vp8Frame // recycled frames, for their packet buffers
	lastTS  uint32     // timestamp of the last emitted or dropped frame
	lastSeq uint16     // its final sequence number
	started bool
	lost    bool // a frame was dropped since the last emitted one
	depkt   codecs.VP8Packet
}

type vp8Frame struct {
	ts      uint32
	first   time.Time // arrival of its first packet
	pkts    []vp8Part
	startOK bool
	endOK   bool
	endSeq  uint16
}

type vp8Part struct {
	seq     uint16
	start   bool
	payload []byte
}

// maxPendingFrames bounds memory when packets of many frames never
// complete.
const maxPendingFrames = 8

// NewVP8Assembler returns an assembler that waits up to maxWait for a
// frame's missing packets.
func NewVP8Assembler(maxWait time.Duration) *VP8Assembler {
	return &VP8Assembler{maxWait: maxWait}
}

// Push adds one packet. emit is called, in timestamp order, with each
// frame that became complete; afterLoss is set when frames were dropped (or
// packets went missing) since the previous emitted frame. The data passed
// to emit is newly allocated and owned by the callee.
func (a *VP8Assembler) Push(pkt *rtp.Packet, now time.Time, emit func(frame []byte, afterLoss bool)) {
	vp8, err := a.depkt.Unmarshal(pkt.Payload)
	if err != nil || len(vp8) == 0 {
		return // padding, or not VP8: nothing to assemble
	}
	if a.started && !tsAfter(pkt.Timestamp, a.lastTS) {
		return // a frame already emitted or given up on
	}
	f := a.frame(pkt.Timestamp, now)
	for _, p := range f.pkts {
		if p.seq == pkt.SequenceNumber {
			return // duplicate
		}
	}
	start := a.depkt.S == 1 && a.depkt.PID == 0
	f.pkts = append(f.pkts, vp8Part{seq: pkt.SequenceNumber, start: start, payload: append([]byte(nil), vp8...)})
	f.startOK = f.startOK || start
	if pkt.Marker {
		f.endOK, f.endSeq = true, pkt.SequenceNumber
	}
	a.drain(now, emit)
}

// frame returns the pending frame with timestamp ts, creating it in order.
func (a *VP8Assembler) frame(ts uint32, now time.Time) *vp8Frame {
	i := 0
	for ; i < len(a.pending); i++ {
		if a.pending[i].ts == ts {
			return &a.pending[i]
		}
		if tsAfter(a.pending[i].ts, ts) {
			break
		}
	}
	var f vp8Frame
	if n := len(a.free); n > 0 {
		f, a.free = a.free[n-1], a.free[:n-1]
		f.pkts = f.pkts[:0]
	}
	f.ts, f.first, f.startOK, f.endOK = ts, now, false, false
	a.pending = append(a.pending, vp8Frame{})
	copy(a.pending[i+1:], a.pending[i:])
	a.pending[i] = f
	return &a.pending[i]
}

// drain emits complete frames from the head and drops the head when it is
// hopeless: too old, or too many frames behind it.
func (a *VP8Assembler) drain(now time.Time, emit func([]byte, bool)) {
	for len(a.pending) > 0 {
		f := &a.pending[0]
		if data, first, ok := f.complete(); ok {
			// A whole frame missing in between shows as a sequence gap.
			gap := a.started && first != a.lastSeq+1
			emit(data, a.lost || gap)
			a.lastSeq, a.lost = f.endSeq, false
			a.pop()
			continue
		}
		if now.Sub(f.first) > a.maxWait || len(a.pending) > maxPendingFrames {
			a.lost = true
			a.pop()
			continue
		}
		return
	}
}

// pop retires the head frame; its packets arriving later are ignored.
func (a *VP8Assembler) pop() {
	f := a.pending[0]
	a.lastTS, a.started = f.ts, true
	a.free = append(a.free, f)
	a.pending = append(a.pending[:0], a.pending[1:]...)
}

// complete returns the frame's data if every packet from its start to its
// marker is present, and the start's sequence number.
func (f *vp8Frame) complete() ([]byte, uint16, bool) {
	if !f.startOK || !f.endOK {
		return nil, 0, false
	}
	var first uint16
	for _, p := range f.pkts {
		if p.start {
			first = p.seq
		}
	}
	n := int(f.endSeq-first) + 1
	if n != len(f.pkts) {
		return nil, 0, false
	}
	// Packets are few per frame: order them by distance from the start.
	var size int
	ordered := make([]*vp8Part, n)
	for i := range f.pkts {
		d := int(f.pkts[i].seq - first)
		if d >= n || ordered[d] != nil {
			return nil, 0, false
		}
		ordered[d] = &f.pkts[i]
		size += len(f.pkts[i].payload)
	}
	data := make([]byte, 0, size)
	for _, p := range ordered {
		data = append(data, p.payload...)
	}
	return data, first, true
}

// tsAfter reports whether RTP timestamp a is after b (modulo 2^32).
func tsAfter(a, b uint32) bool { return a != b && a-b < 1<<31 }
