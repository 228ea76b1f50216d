package media

import "time"

// PacketStatus says what a playout buffer handed out for one pull.
type PacketStatus uint8

const (
	// PacketUnknown is the zero value; never returned by a working buffer.
	PacketUnknown PacketStatus = iota
	// PacketOK: Payload holds the next packet in sequence.
	PacketOK
	// PacketLost: the next packet is known to be missing; conceal it, or
	// recover it from Next's forward error correction when Next is set.
	PacketLost
	// PacketEmpty: nothing to play yet (still buffering, or underrun).
	PacketEmpty
)

// String returns the status name.
func (s PacketStatus) String() string {
	switch s {
	case PacketOK:
		return "ok"
	case PacketLost:
		return "lost"
	case PacketEmpty:
		return "empty"
	default:
		return "unknown"
	}
}

// EncodedAudio is one pull from an audio playout buffer. Payload and Next
// are borrowed: valid until the next pull from the same buffer.
type EncodedAudio struct {
	Status  PacketStatus
	Payload []byte
	Next    []byte
	// Waited is how long the playout buffer held Payload (PacketOK), for
	// the delay metrics.
	Waited time.Duration
	// Slack is, when Timed, how long after the packet was due (its
	// expected arrival plus the jitter allowance) it was pulled: the room
	// clock could pull this stream that much earlier and still find its
	// packets. Timed is false when the buffer cannot say (after a loss it
	// keeps a packet of cushion for FEC instead).
	Slack time.Duration
	Timed bool
}
