package main

import (
	"github.com/mcu-project/mcu/egress"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
)

// egressHost lets recordings join rooms as hidden receivers.
type egressHost struct{ rooms *room.Manager }

func (h egressHost) Join(id media.RoomID, p egress.Peer, audioCodec, videoCodec string) (media.ParticipantID, int, int, error) {
	r, err := h.rooms.Room(id)
	if err != nil {
		return "", 0, 0, err
	}
	// The top rung: a receiver that reports nothing on its link (as
	// the recorder) stays on it.
	o := r.Info().Options
	w, ht := o.Width, o.Height
	if len(o.Ladder) > 0 {
		w, ht = o.Ladder[0].Width, o.Ladder[0].Height
	}
	pid, err := h.rooms.Join(id, room.JoinParams{Name: "recorder", Hidden: true, Peer: p, MustExist: true, Kind: "egress",
		SendAudioCodec: audioCodec, SendAudioClockRate: 48000, SendVideoCodec: videoCodec})
	return pid, w, ht, err
}

func (h egressHost) Leave(id media.RoomID, pid media.ParticipantID) error {
	return h.rooms.Leave(id, pid)
}

func (h egressHost) Listed(id media.RoomID) (int, bool, error) {
	r, err := h.rooms.Room(id)
	if err != nil {
		return 0, false, err
	}
	info := r.Info()
	return info.Participants, info.Options.KeepWhenEmpty, nil
}

// egressEvent puts an egress's event on the rooms' event feed.
func egressEvent(ev egress.Event) room.Event {
	types := map[egress.EventType]room.EventType{egress.EventStarted: room.EventEgressStarted, egress.EventUpdated: room.EventEgressUpdated, egress.EventEnded: room.EventEgressEnded}
	in := ev.Info
	return room.Event{Type: types[ev.Type], Room: in.Room, At: ev.At, Egress: &room.EgressReport{ID: in.ID, Format: in.Format.String(), Path: in.Path, URL: in.URL, Connected: in.Connected, Retries: in.Retries,
		Started: in.Started, Duration: in.Duration, Bytes: in.Bytes, Active: in.Active, Err: in.Err}}
}
