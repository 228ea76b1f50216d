package transport

import (
	"errors"
	"time"

	"github.com/pion/rtp"
)

// FrameAssembler rebuilds video frames from RTP packets. A frame is
// complete when its first packet (as the codec's payload format marks it),
// its last (RTP marker) and every sequence number between them have
// arrived; it is emitted at once, without waiting for the next frame.
// Packets may arrive out of order within the frames still pending. A frame
// that cannot complete (a lost packet not retransmitted within maxWait), or
// whose payloads do not parse, is dropped and the next emitted frame is
// flagged as following a loss, so the caller can wait for a keyframe.
// Not safe for concurrent use.
type FrameAssembler struct {
	format  payloadFormat
	maxWait time.Duration
	pending []pendingFrame // ordered by RTP timestamp (oldest first)
	free    []pendingFrame // recycled frames, for their packet buffers
	lastTS  uint32         // timestamp of the last emitted or dropped frame
	lastSeq uint16         // its final sequence number
	started bool
	lost    bool // a frame was dropped since the last emitted one
	ordered [][]byte
	// padding remembers recent padding-only packets by sequence number
	// (slot seq%len): they fill sequence gaps between frames without being
	// a loss. Senders probing the link send them (as our egress does).
	padding [1024]struct {
		seq uint16
		ok  bool
	}
}

// payloadFormat is what the assembler needs of a codec's RTP payload
// format.
type payloadFormat interface {
	// isStart reports whether a payload begins a frame.
	isStart(payload []byte) bool
	// assemble appends the frame carried by payloads (in sequence order)
	// to dst, in the form the decoder takes.
	assemble(dst []byte, payloads [][]byte) ([]byte, error)
	// isKeyFrame reports whether an assembled frame is a keyframe.
	isKeyFrame(frame []byte) bool
}

var errBadPayload = errors.New("transport: malformed video payload")

type pendingFrame struct {
	ts      uint32
	first   time.Time // arrival of its first packet
	pkts    []framePart
	startOK bool
	endOK   bool
	endSeq  uint16
	// dead: the frame had more than maxFramePackets packets; it is
	// dropped when it reaches the head, and its later packets ignored.
	dead bool
}

type framePart struct {
	seq     uint16
	start   bool
	payload []byte
}

// maxPendingFrames bounds memory when packets of many frames never
// complete.
const maxPendingFrames = 8

// maxFramePackets bounds one frame: a 1080p keyframe at a high bitrate is
// a few hundred packets; a sender that never ends a frame (no marker, the
// same timestamp forever) would otherwise grow it, and the duplicate
// check over it, without bound.
const maxFramePackets = 2048

// NewFrameAssembler returns an assembler for mimeType ("video/VP8" or
// "video/H264") that waits up to maxWait for a frame's missing packets.
func NewFrameAssembler(mimeType string, maxWait time.Duration) (*FrameAssembler, error) {
	f, err := formatFor(mimeType)
	if err != nil {
		return nil, err
	}
	return &FrameAssembler{format: f, maxWait: maxWait}, nil
}

// IsKeyFrame reports whether an assembled frame is a keyframe.
func (a *FrameAssembler) IsKeyFrame(frame []byte) bool { return a.format.isKeyFrame(frame) }

// Push adds one packet. emit is called, in timestamp order, with each
// frame that became complete; afterLoss is set when frames were dropped (or
// packets went missing) since the previous emitted frame. The data passed
// to emit is newly allocated and owned by the callee.
func (a *FrameAssembler) Push(pkt *rtp.Packet, now time.Time, emit func(frame []byte, afterLoss bool)) {
	if len(pkt.Payload) == 0 {
		// Padding: nothing to assemble, but its sequence number is not
		// a loss.
		slot := &a.padding[int(pkt.SequenceNumber)%len(a.padding)]
		slot.seq, slot.ok = pkt.SequenceNumber, true
		return
	}
	if a.started && !tsAfter(pkt.Timestamp, a.lastTS) {
		return // a frame already emitted or given up on
	}
	f := a.frame(pkt.Timestamp, now)
	if f.dead {
		return
	}
	if len(f.pkts) >= maxFramePackets {
		f.dead, f.pkts = true, f.pkts[:0]
		a.drain(now, emit)
		return
	}
	for _, p := range f.pkts {
		if p.seq == pkt.SequenceNumber {
			return // duplicate
		}
	}
	start := a.format.isStart(pkt.Payload)
	f.pkts = append(f.pkts, framePart{seq: pkt.SequenceNumber, start: start, payload: append([]byte(nil), pkt.Payload...)})
	f.startOK = f.startOK || start
	if pkt.Marker {
		f.endOK, f.endSeq = true, pkt.SequenceNumber
	}
	a.drain(now, emit)
}

// frame returns the pending frame with timestamp ts, creating it in order.
func (a *FrameAssembler) frame(ts uint32, now time.Time) *pendingFrame {
	i := 0
	for ; i < len(a.pending); i++ {
		if a.pending[i].ts == ts {
			return &a.pending[i]
		}
		if tsAfter(a.pending[i].ts, ts) {
			break
		}
	}
	var f pendingFrame
	if n := len(a.free); n > 0 {
		f, a.free = a.free[n-1], a.free[:n-1]
		f.pkts = f.pkts[:0]
	}
	f.ts, f.first, f.startOK, f.endOK, f.dead = ts, now, false, false, false
	a.pending = append(a.pending, pendingFrame{})
	copy(a.pending[i+1:], a.pending[i:])
	a.pending[i] = f
	return &a.pending[i]
}

// drain emits complete frames from the head and drops the head when it is
// hopeless: too old, or too many frames behind it.
func (a *FrameAssembler) drain(now time.Time, emit func([]byte, bool)) {
	for len(a.pending) > 0 {
		f := &a.pending[0]
		if f.dead {
			a.lost = true
			a.pop()
			continue
		}
		if first, ok := a.complete(f); ok {
			data, err := a.format.assemble(nil, a.ordered)
			if err != nil || len(data) == 0 {
				a.lost = true
				a.pop()
				continue
			}
			// A whole frame missing in between shows as a sequence gap.
			gap := a.started && a.missingBetween(a.lastSeq, first)
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

// missingBetween reports whether a sequence number strictly between from
// and to never arrived (padding counts as arrived).
func (a *FrameAssembler) missingBetween(from, to uint16) bool {
	n := to - from - 1
	if n >= 1<<15 {
		return true // reordered far back: treat as a loss
	}
	for s := from + 1; s != to; s++ {
		if slot := a.padding[int(s)%len(a.padding)]; !slot.ok || slot.seq != s {
			return true
		}
	}
	return false
}

// pop retires the head frame; its packets arriving later are ignored.
func (a *FrameAssembler) pop() {
	f := a.pending[0]
	a.lastTS, a.started = f.ts, true
	a.free = append(a.free, f)
	a.pending = append(a.pending[:0], a.pending[1:]...)
}

// complete reports whether every packet from the frame's start to its
// marker is present; if so a.ordered holds their payloads in sequence
// order, and first is the start's sequence number.
func (a *FrameAssembler) complete(f *pendingFrame) (first uint16, ok bool) {
	if !f.startOK || !f.endOK {
		return 0, false
	}
	// The start is the start packet furthest back from the marker.
	maxD := -1
	for _, p := range f.pkts {
		if d := int(f.endSeq - p.seq); p.start && d < len(f.pkts) && d > maxD {
			maxD, first = d, p.seq
		}
	}
	n := maxD + 1
	if maxD < 0 || n != len(f.pkts) {
		return 0, false
	}
	a.ordered = a.ordered[:0]
	for range n {
		a.ordered = append(a.ordered, nil)
	}
	for _, p := range f.pkts {
		d := int(p.seq - first)
		if d >= n || a.ordered[d] != nil {
			return 0, false
		}
		a.ordered[d] = p.payload
	}
	return first, true
}

// tsAfter reports whether RTP timestamp a is after b (modulo 2^32).
func tsAfter(a, b uint32) bool { return a != b && a-b < 1<<31 }
