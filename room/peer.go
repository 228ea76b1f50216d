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

// VideoPeer is what a room needs of a participant's transport for video;
// a Peer that carries video also implements it.
type VideoPeer interface {
	// VideoFrames delivers the participant's complete encoded frames in
	// order, starting at a keyframe; it is closed when the peer closes.
	VideoFrames() <-chan []byte
	// RequestKeyFrame asks the participant for a keyframe (PLI).
	RequestKeyFrame()
	// WriteVideo queues one encoded frame of the participant's view. It
	// never blocks; ts is the RTP timestamp (90 kHz) from the room clock,
	// at the room-clock time of the picture.
	WriteVideo(frame []byte, keyframe bool, ts uint32, at time.Time) error
	// TakeKeyFrameRequest reports, and clears, whether the participant
	// needs a keyframe of its view (it sent PLI/FIR, or its queue dropped).
	TakeKeyFrameRequest() bool
}

// LinkReporter is implemented by peers whose transport learns about the
// path toward their receiver from its feedback (receiver reports,
// congestion control): the room sets their audio encoders' in-band FEC
// from the loss it shows.
type LinkReporter interface {
	// Link is what is known now of the path toward the receiver.
	Link() media.LinkSample
}

// LinkPeer is implemented by video receivers whose transport learns about
// their link and can probe it. Receivers without it stay on the top rung.
type LinkPeer interface {
	LinkReporter
	// SetPadding sends bps of padding on top of the media (0 stops): a
	// probe of whether the link carries the next rung.
	SetPadding(bps int)
}

// JoinParams describe a new participant.
type JoinParams struct {
	// Name is the display name (may be empty).
	Name string
	// Identity names who joined (a token's subject); when set it is
	// unique in the room: a second join with it replaces the first.
	Identity string
	// Hidden keeps the participant out of listings and join and leave
	// events (recorders, monitors).
	Hidden bool
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
	// Kind is shown in participant listings: "webrtc", "whip", "whep",
	// "rtp".
	Kind string
	// Ready, when set, is closed once the participant's connection is up
	// (ICE and DTLS): until then it has a place in the room, and is
	// listed, but no codecs, no mix slot and no canvas encoder.
	Ready <-chan struct{}
}
