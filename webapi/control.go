package webapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
)

// maxBody bounds the JSON bodies of the control requests.
const maxBody = 4 << 10

// pageLayouts are the layouts the page's picker offers, by name.
var pageLayouts = map[string]room.LayoutType{
	"grid": room.LayoutGrid, "speaker": room.LayoutSpeaker, "pip": room.LayoutPIP, "presentation": room.LayoutPresentation,
}

// decode reads a small JSON body into v, answering 400 itself on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		httpError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return false
	}
	return true
}

// setLayout sets the room's layout (body {"type": "grid"|"speaker"|"pip"|
// "presentation"}) for a holder of the admin grant; it answers the layout
// the room now has.
func (h *Handler) setLayout(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("room")
	if _, ok := h.cfg.Authorize(w, r, id, auth.GrantAdmin); !ok {
		return
	}
	var body struct {
		Type string `json:"type"`
	}
	if !decode(w, r, &body) {
		return
	}
	t, ok := pageLayouts[body.Type]
	if !ok {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("unknown layout type %q: grid, speaker, pip or presentation", body.Type))
		return
	}
	rm, err := h.cfg.Rooms.Room(media.RoomID(id))
	if err == nil {
		err = rm.SetLayout("", room.Layout{Type: t})
	}
	if err != nil {
		roomError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"type": t.String()})
}

// setMute mutes or unmutes a participant's microphone and camera as the
// room sees them (body {"audio": true, "video": false}; either may be
// left out): the participant itself or an admin of the room. The page
// also stops sending; this is what others' canvases and lists show.
func (h *Handler) setMute(w http.ResponseWriter, r *http.Request) {
	id, pid := r.PathValue("room"), media.ParticipantID(r.PathValue("id"))
	claims, ok := h.cfg.Authorize(w, r, id, auth.GrantUnknown)
	if !ok {
		return
	}
	if !claims.Grants.Admin {
		who, err := h.cfg.Rooms.Identity(media.RoomID(id), pid)
		switch {
		case err != nil:
			roomError(w, err)
			return
		case who == "" || who != claims.Identity:
			httpError(w, http.StatusForbidden, "only the participant itself or an admin of the room may mute it")
			return
		}
	}
	var body struct {
		Audio *bool `json:"audio"`
		Video *bool `json:"video"`
	}
	if !decode(w, r, &body) {
		return
	}
	if body.Audio == nil && body.Video == nil {
		httpError(w, http.StatusBadRequest, `nothing to change: give "audio" and/or "video"`)
		return
	}
	rm, err := h.cfg.Rooms.Room(media.RoomID(id))
	if err == nil {
		err = rm.UpdateParticipant(pid, room.ParticipantUpdate{MuteAudio: body.Audio, MuteVideo: body.Video})
	}
	if err != nil {
		roomError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
