package transport

import (
	"fmt"
	"runtime/debug"

	"github.com/mcu-project/mcu/media"
)

// goneFunc is told, once, that a participant's transport ended by itself
// (cause nil: the connection failed or closed, the leg went idle or said
// BYE) or broke (cause: what panicked in one of its goroutines).
type goneFunc func(cause error)

// goneFunc removes the participant from its room when its transport ends,
// as a failure when it broke.
func (s *Server) goneFunc(room media.RoomID, id media.ParticipantID) goneFunc {
	return func(cause error) {
		if cause != nil {
			_ = s.rooms.Fail(room, id, cause)
			return
		}
		if err := s.rooms.Leave(room, id); err == nil {
			s.log.Info("participant connection ended", "room", room, "participant", id)
		}
	}
}

// Fault containment: each goroutine a peer or leg runs (its readers and
// senders, its RTCP) defers contain, so a panic there — a parser's bug on
// a crafted packet — ends that participant alone. The gone callback runs
// on a goroutine of its own: it closes the peer, which waits for this one.

// contain recovers a panic in one of the peer's goroutines.
func (p *Peer) contain(what string) {
	if v := recover(); v != nil {
		err := p.obs.panicked(what, v)
		go p.fireGone(err)
	}
}

// contain recovers a panic in one of the leg's goroutines.
func (l *RTPLeg) contain(what string) {
	if v := recover(); v != nil {
		l.fireGone("broke", l.obs.panicked(what, v))
	}
}

// panicked counts and logs a recovered panic and returns it as an error.
func (o observer) panicked(what string, v any) error {
	o.stats.panics.Add(1)
	err := fmt.Errorf("%s panicked: %v", what, v)
	o.log.Error("participant transport broke", "err", err, "stack", string(debug.Stack()))
	return err
}
