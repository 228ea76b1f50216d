package jitter

import "time"

// Status says what one Pop handed out.
type Status uint8

const (
	// StatusUnknown is the zero value; Pop never returns it.
	StatusUnknown Status = iota
	// Packet: Result.Payload holds the packet with the next sequence number.
	Packet
	// Lost: the packet Result.Seq is known to be missing. Conceal it (Opus
	// PLC), or decode Result.Next with in-band FEC when Next is non-nil.
	// Playout has advanced past Result.Seq.
	Lost
	// Empty: nothing to play (no stream yet, still (re)buffering, waiting a
	// little longer for a missing packet, or underrun). Conceal or play
	// silence; playout did NOT advance.
	Empty
)

// String returns the status name.
func (s Status) String() string {
	switch s {
	case Packet:
		return "packet"
	case Lost:
		return "lost"
	case Empty:
		return "empty"
	default:
		return "unknown"
	}
}

// PushResult says what Push did with a packet.
type PushResult uint8

const (
	// PushUnknown is the zero value; Push never returns it.
	PushUnknown PushResult = iota
	// Accepted: the packet was stored.
	Accepted
	// Duplicate: a packet with this sequence number is buffered or was
	// already played; the new copy was dropped.
	Duplicate
	// Late: the sequence number is behind the playout point (played out,
	// declared lost, or skipped); the packet was dropped. Its arrival still
	// feeds the jitter estimate.
	Late
	// Overflow: the packet was stored, but it lay beyond MaxPackets of the
	// playout point, so the oldest buffered packets were evicted (counted in
	// Stats.DroppedOverflow) to keep memory bounded.
	Overflow
	// Resynced: the packet jumped so far (sequence number by more than
	// Config.ResyncPackets, or arrival-versus-timestamp by more than
	// Config.ResyncTransit) that the buffer flushed itself and started a new
	// stream with it (counted in Stats.Resyncs / Stats.DroppedResync).
	Resynced
)

// String returns the result name.
func (r PushResult) String() string {
	switch r {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	case Late:
		return "late"
	case Overflow:
		return "overflow"
	case Resynced:
		return "resynced"
	default:
		return "unknown"
	}
}

// Result is one Pop.
//
// Payload and Next are borrowed from the Buffer: they stay valid until the
// next call to Pop on the same Buffer (Push does not touch them, so the
// caller may decode them after releasing its lock, as long as it does not
// Pop concurrently).
type Result struct {
	Status Status
	// Payload is the packet's payload (Status Packet only).
	Payload []byte
	// Next is, for Status Lost only, the payload of the packet immediately
	// following Seq when it is buffered (use it for in-band FEC); else nil.
	Next []byte
	// Seq is the RTP sequence number of the packet played (Packet) or
	// concealed (Lost). For Empty it is the sequence number playout is
	// waiting for (0 before any packet).
	Seq uint16
	// Waited is how long the packet was buffered: from its arrival to this
	// Pop (Status Packet only).
	Waited time.Duration
	// Slack is how long after its due time (expected arrival plus the
	// jitter allowance) the packet was handed out, when Timed is true:
	// a Packet played on a clean link. A clock that pops a stream with
	// slack to spare could pop it that much earlier and still find it
	// buffered. While recovering from a loss, playout keeps a packet of
	// cushion instead and Timed is false.
	Slack time.Duration
	Timed bool
}

// Stats are cumulative counters since New (Reset does not clear them) plus
// a few current values.
type Stats struct {
	Pushed     uint64 // calls to Push
	Accepted   uint64 // packets stored (results Accepted, Overflow, Resynced)
	Duplicates uint64 // dropped duplicates
	Late       uint64 // dropped late packets
	Resyncs    uint64 // stream resynchronisations on huge jumps

	Played    uint64 // Pops that returned Packet
	LostPops  uint64 // Pops that returned Lost
	Lost      uint64 // sequence numbers declared missing: reported as Lost, or skipped silently (see DESIGN notes in doc.go)
	EmptyPops uint64 // Pops that returned Empty, for any reason
	Waits     uint64 // Empty Pops spent waiting for a missing packet while later ones were buffered
	Underruns uint64 // times playout found the buffer empty and went back to buffering (DTX silence counts too)

	DroppedShrink   uint64 // buffered packets dropped to bring latency back towards the target
	DroppedOverflow uint64 // buffered packets evicted to respect MaxPackets
	DroppedResync   uint64 // buffered packets flushed by a resync or Reset

	Depth         int           // packets buffered now
	Buffered      time.Duration // audio buffered now, from the playout point to the end of the newest packet (gaps included)
	Target        time.Duration // current target delay (same as Delay())
	Jitter        time.Duration // current jitter estimate (peak-hold of transit deviation)
	FrameDuration time.Duration // current estimate of one packet's duration
}
