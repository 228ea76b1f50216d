package webapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
)

// participantJSON is a participant as the page shows it.
type participantJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Talking    bool   `json:"talking"`
	Muted      bool   `json:"muted"`
	VideoMuted bool   `json:"videoMuted"`
	Sharing    bool   `json:"sharing"`
	Shown      bool   `json:"presentationShown"`
}

func participantOf(p room.Participant) participantJSON {
	return participantJSON{ID: string(p.ID), Name: p.Name, Kind: p.Kind, Talking: p.Talking, Muted: p.Muted,
		VideoMuted: p.VideoMuted, Sharing: p.Sharing, Shown: p.PresentationShown}
}

// snapshotJSON is the room as a stream starts: who is there, the layout
// shown (the presentation layout while someone shares, unless one was
// set), the speaker slot and the share shown.
type snapshotJSON struct {
	Room         string            `json:"room"`
	Participants []participantJSON `json:"participants"`
	Layout       string            `json:"layout"`
	Speaker      string            `json:"speaker,omitempty"`
	Presentation string            `json:"presentation,omitempty"`
}

func snapshotOf(r *room.Room) snapshotJSON {
	info := r.Info()
	_, shown := r.Presentations()
	s := snapshotJSON{Room: string(info.ID), Layout: r.ShownLayout().Type.String(), Speaker: string(info.Speaker),
		Presentation: string(shown), Participants: []participantJSON{}}
	for _, p := range r.Participants() {
		s.Participants = append(s.Participants, participantOf(p))
	}
	return s
}

// eventJSON is one room event (the gRPC stream's fields) and, for an event
// about a participant still in the room, its state after the event.
type eventJSON struct {
	Type        string    `json:"type"`
	Room        string    `json:"room"`
	Participant string    `json:"participant,omitempty"`
	At          time.Time `json:"at"`
	Level       float64   `json:"level,omitempty"`
	Digit       string    `json:"digit,omitempty"`
	Viewer      string    `json:"viewer,omitempty"`
	Rung        int       `json:"rung,omitempty"`
	FromRung    int       `json:"fromRung,omitempty"`
	EstimateBps int       `json:"estimateBps,omitempty"`
	// Layout is the layout the room shows after a change of it.
	Layout string           `json:"layout,omitempty"`
	State  *participantJSON `json:"state,omitempty"`
}

func eventOf(r *room.Room, ev room.Event) eventJSON {
	e := eventJSON{Type: ev.Type.String(), Room: string(ev.Room), Participant: string(ev.Participant), At: ev.At,
		Level: ev.Level, Viewer: string(ev.Viewer), Rung: ev.Rung, FromRung: ev.FromRung, EstimateBps: ev.EstimateBps}
	if ev.Digit != 0 {
		e.Digit = string(ev.Digit)
	}
	if ev.Type == room.EventLayoutChanged && ev.Viewer == "" {
		e.Layout = r.ShownLayout().Type.String()
	}
	if ev.Participant != "" && ev.Type != room.EventLeft {
		for _, p := range r.Participants() {
			if p.ID == ev.Participant {
				st := participantOf(p)
				e.State = &st
			}
		}
	}
	return e
}

// serveEvents streams a room's events: a "snapshot" event first, then
// each event as it happens, named by its type ("joined", "left",
// "talking-started", …) with its JSON as data, in order, numbered by id.
// The stream ends when the client goes, the room is deleted, the handler
// closes, or the client falls too far behind (an "overflow" event: the
// page reconnects and starts from a new snapshot).
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	claims, ok := h.cfg.Authorize(w, r, id, auth.GrantUnknown)
	if !ok {
		return
	}
	if !claims.Grants.Subscribe && !claims.Grants.Admin {
		httpError(w, http.StatusForbidden, "the token grants neither subscribe nor admin: no events")
		return
	}
	rm, err := h.cfg.Rooms.Room(media.RoomID(id))
	if err != nil {
		roomError(w, err)
		return
	}
	if !h.startStream() {
		httpError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	defer h.wg.Done()
	// Subscribe before the snapshot: nothing that happens after it is
	// missed (an event just before it may repeat what it shows).
	events, cancel := h.cfg.Events.Subscribe(media.RoomID(id))
	defer cancel()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout is for requests, not streams
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	seq := 0
	send := func(name string, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		seq++
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", seq, name, data); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send("snapshot", snapshotOf(rm)) != nil {
		return
	}
	keep := time.NewTicker(h.cfg.KeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.stop:
			return
		case ev, ok := <-events:
			if !ok {
				_ = send("overflow", struct{}{})
				return
			}
			if send(ev.Type.String(), eventOf(rm, ev)) != nil || ev.Type == room.EventRoomDeleted {
				return
			}
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
