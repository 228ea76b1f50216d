package room

import (
	"time"

	"github.com/mcu-project/mcu/media"
)

// Peer is what a room needs of a participant's transport. The transport
// package satisfies it; tests use fakes. Every method is called from the
// room's clock goroutine and must not block on the network.
type Peer interface {
	// ReadAudio pulls the next encoded packet from the peer's playout
	// buffer. It is called only when the room needs more audio.
	ReadAudio(now time.Time) media.EncodedAudio
	// WriteAudio sends one encoded frame. ts is the RTP timestamp (derived
	// from the room clock) and at the room-clock time of the frame's first
	// sample, so the transport can map NTP to RTP in its sender reports
	// consistently across the room's streams.
	WriteAudio(payload []byte, ts uint32, at time.Time) error
	// Close ends the peer; idempotent. The room calls it when the
	// participant leaves or the room shuts down, outside the room's lock.
	Close() error
}

// JoinParams describe a new participant.
type JoinParams struct {
	// Name is the display name (may be empty).
	Name string
	// Peer is the participant's transport.
	Peer Peer
	// RecvAudioCodec is the MIME type of the audio the participant sends
	// (empty: sends none). SendAudioCodec is what it receives (empty:
	// receives none).
	RecvAudioCodec string
	SendAudioCodec string
	// SendAudioClockRate is the RTP clock rate of SendAudioCodec.
	SendAudioClockRate int
	// RecvVideoCodec and SendVideoCodec are the video MIME types, as for
	// audio; either needs Peer to implement VideoPeer.
	RecvVideoCodec, SendVideoCodec string
	// MustExist refuses the join if the room does not exist yet.
	MustExist bool
	// Kind is shown in participant listings: "webrtc", "rtp".
	Kind string
}
