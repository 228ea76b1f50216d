package room

import (
	"fmt"
	"slices"
	"time"

	"github.com/mcu-project/mcu/media"
)

// speakerHold is how long a new speaker must lead before taking the
// speaker slot, so the large region does not flap between voices.
const speakerHold = time.Second

// capSpeakersLocked leaves all but the MaxSpeakers loudest present inputs
// out of this tick's sum (by the level measured so far, which keeps being
// measured for the ones left out).
func (r *Room) capSpeakersLocked() {
	maxN := r.opts.MaxSpeakers
	if maxN <= 0 || len(r.members) <= maxN {
		return
	}
	r.rank = r.rank[:0]
	for _, pt := range r.members {
		if !pt.in.Muted() {
			r.rank = append(r.rank, pt)
		}
	}
	if len(r.rank) <= maxN {
		return
	}
	slices.SortStableFunc(r.rank, func(a, b *participant) int {
		switch la, lb := a.in.Level(), b.in.Level(); {
		case la > lb:
			return -1
		case la < lb:
			return 1
		}
		return 0
	})
	for _, pt := range r.rank[maxN:] {
		pt.in.Suppress()
	}
}

// followSpeakerLocked elects the active speaker: the loudest talking,
// unmuted participant, once it has led for speakerHold. With no one
// talking the last speaker keeps the slot.
func (r *Room) followSpeakerLocked(at time.Time) {
	var lead *participant
	for _, pt := range r.members {
		if pt.in.Talking() && !pt.in.Muted() && (lead == nil || pt.in.Level() > lead.in.Level()) {
			lead = pt
		}
	}
	if lead == nil || lead.id == r.speaker {
		r.candidate = ""
		return
	}
	if lead.id != r.candidate {
		r.candidate, r.candidateSince = lead.id, at
	}
	if r.speaker == "" || at.Sub(r.candidateSince) >= speakerHold {
		r.speaker, r.candidate = lead.id, ""
		r.onEvent(Event{Type: EventActiveSpeakerChanged, Room: r.id, Participant: lead.id, At: at, Level: lead.in.Level()})
	}
}

// featuredLocked is who holds the speaker slot: the pinned participant,
// else the active speaker.
func (r *Room) featuredLocked() media.ParticipantID {
	if r.pinned != "" {
		return r.pinned
	}
	return r.speaker
}

// Info is a read-only view of a room.
type Info struct {
	ID           media.RoomID
	Options      Options
	Participants int
	Layout       Layout
	Speaker      media.ParticipantID // the speaker slot: pinned, else active speaker
}

// Info describes the room.
func (r *Room) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Info{ID: r.id, Options: r.opts, Participants: len(r.members), Layout: r.layout, Speaker: r.featuredLocked()}
}

// memberLocked finds a participant.
func (r *Room) memberLocked(id media.ParticipantID) (*participant, error) {
	for _, pt := range r.members {
		if pt.id == id {
			return pt, nil
		}
	}
	return nil, fmt.Errorf("%w: %s in room %s", ErrUnknownParticipant, id, r.id)
}

// ParticipantUpdate changes the fields that are set.
type ParticipantUpdate struct {
	MuteAudio, MuteVideo, Pinned *bool
	GainDB                       *float64
	Name                         *string
}

// UpdateParticipant applies u, all or nothing.
func (r *Room) UpdateParticipant(id media.ParticipantID, u ParticipantUpdate) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	pt, err := r.memberLocked(id)
	if err != nil {
		return err
	}
	if u.GainDB != nil {
		// The only update that can fail: apply it first.
		if err := pt.in.SetGainDB(*u.GainDB); err != nil {
			return fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
	}
	if u.Name != nil {
		pt.name = *u.Name
	}
	if u.MuteAudio != nil {
		pt.in.SetMuted(*u.MuteAudio)
	}
	if u.MuteVideo != nil {
		pt.videoMuted = *u.MuteVideo
	}
	if u.Pinned != nil {
		switch {
		case *u.Pinned:
			r.pinned = id
		case r.pinned == id:
			r.pinned = ""
		}
	}
	return nil
}

// SetLayout sets the room's layout (viewer "") or one viewer's override; a
// layout of type LayoutUnknown removes the viewer's override.
func (r *Room) SetLayout(viewer media.ParticipantID, l Layout) error {
	if !(viewer != "" && l.Type == LayoutUnknown) {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case viewer == "":
		r.layout = l
	default:
		if _, err := r.memberLocked(viewer); err != nil {
			return err
		}
		if l.Type == LayoutUnknown {
			delete(r.overrides, viewer)
		} else {
			r.overrides[viewer] = l
		}
	}
	r.onEvent(Event{Type: EventLayoutChanged, Room: r.id, Viewer: viewer, At: r.clock.Now()})
	return nil
}

// Layout returns the room's layout (viewer "") or what viewer sees.
func (r *Room) Layout(viewer media.ParticipantID) (Layout, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if viewer == "" {
		return r.layout, nil
	}
	if _, err := r.memberLocked(viewer); err != nil {
		return Layout{}, err
	}
	if l, ok := r.overrides[viewer]; ok {
		return l, nil
	}
	return r.layout, nil
}

// Update changes the options that may change while the room runs.
type Update struct {
	ExcludeSelf, KeepWhenEmpty   *bool
	MaxParticipants, MaxSpeakers *int
}

// UpdateOptions applies u.
func (r *Room) UpdateOptions(u Update) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.opts
	if u.ExcludeSelf != nil {
		o.ExcludeSelf = *u.ExcludeSelf
	}
	if u.KeepWhenEmpty != nil {
		o.KeepWhenEmpty = *u.KeepWhenEmpty
	}
	if u.MaxParticipants != nil {
		o.MaxParticipants = *u.MaxParticipants
	}
	if u.MaxSpeakers != nil {
		o.MaxSpeakers = *u.MaxSpeakers
	}
	if err := o.Validate(); err != nil {
		return err
	}
	r.opts = o
	return nil
}
