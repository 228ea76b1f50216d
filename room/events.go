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
	// Egress events (recordings): the server's egress manager publishes
	// them on the rooms' event feed; the room itself never does.
	EventEgressStarted
	EventEgressUpdated
	EventEgressEnded
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
	case EventEgressStarted:
		return "egress-started"
	case EventEgressUpdated:
		return "egress-updated"
	case EventEgressEnded:
		return "egress-ended"
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
	// Egress events: the egress as it is now.
	Egress *EgressReport `json:",omitempty"`
}

// EgressReport describes a recording or a live stream on the event feed.
type EgressReport struct {
	ID     string
	Format string // "webm", "mp4", "ogg", "rtmp"
	// Path is the file on the server; URL a stream's (its key hidden),
	// whether it is connected, and how many connections failed.
	Path      string
	URL       string
	Connected bool
	Retries   int

	Started  time.Time
	Duration time.Duration // written so far
	Bytes    int64
	Active   bool
	Err      string // why it ended, if not by a stop
}

// DTMFPeer is implemented by peers that receive telephone keys (RFC 4733).
type DTMFPeer interface {
	// TakeDTMF appends the keys pressed since the last call to dst.
	TakeDTMF(dst []byte) []byte
}
