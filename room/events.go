package room

import (
	"time"

	"github.com/mcu-project/mcu/media"
)

// EventType says what happened in a room.
type EventType uint8

const (
	EventUnknown EventType = iota
	EventJoined
	EventLeft
	EventTalkingStarted
	EventTalkingStopped
	EventDTMF
	EventRoomCreated
	EventRoomDeleted
	EventLayoutChanged
	EventKeyFrameRequested
	EventActiveSpeakerChanged
	EventRungChanged
	// EventPresentationStarted and EventPresentationStopped: a
	// participant's screen share (its second video track) began or ended.
	EventPresentationStarted
	EventPresentationStopped
	// EventParticipantUpdated: a participant's name, mute or video mute
	// changed.
	EventParticipantUpdated
)

func (t EventType) String() string {
	switch t {
	case EventJoined:
		return "joined"
	case EventLeft:
		return "left"
	case EventTalkingStarted:
		return "talking-started"
	case EventTalkingStopped:
		return "talking-stopped"
	case EventDTMF:
		return "dtmf"
	case EventRoomCreated:
		return "room-created"
	case EventRoomDeleted:
		return "room-deleted"
	case EventLayoutChanged:
		return "layout-changed"
	case EventKeyFrameRequested:
		return "keyframe-requested"
	case EventActiveSpeakerChanged:
		return "active-speaker-changed"
	case EventRungChanged:
		return "rung-changed"
	case EventPresentationStarted:
		return "presentation-started"
	case EventPresentationStopped:
		return "presentation-stopped"
	case EventParticipantUpdated:
		return "participant-updated"
	}
	return "unknown"
}

// Event is one thing that happened in a room.
type Event struct {
	Type        EventType
	Room        media.RoomID
	Participant media.ParticipantID
	At          time.Time
	Level       float64             // talking events: dBov
	Digit       byte                // DTMF: one of 0-9 * # A-D
	Viewer      media.ParticipantID // layout changes: whose override ("" the room's)
	// Rung changes: the rung the participant now receives (-1: video
	// paused), the one it left, and the estimate that moved it.
	Rung, FromRung int
	EstimateBps    int
}

// DTMFPeer is implemented by peers that receive telephone keys (RFC 4733).
type DTMFPeer interface {
	// TakeDTMF appends the keys pressed since the last call to dst.
	TakeDTMF(dst []byte) []byte
}
