package room

import (
	"fmt"

	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/mixer"
)

// ParticipantUpdate changes the fields that are set.
type ParticipantUpdate struct {
	MuteAudio, MuteVideo, Pinned *bool
	GainDB                       *float64
	Name                         *string
}

// UpdateParticipant applies u, all or nothing. Listings show the change at
// once; the mix follows from the audio clock's next tick.
func (r *Room) UpdateParticipant(id media.ParticipantID, u ParticipantUpdate) error {
	if u.GainDB != nil {
		// The only update that can fail: check it first.
		if err := mixer.CheckGainDB(*u.GainDB); err != nil {
			return fmt.Errorf("%w: %w", ErrBadOptions, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, err := r.indexLocked(id)
	if err != nil {
		return err
	}
	pt := r.roster[i]
	if (u.Name != nil || u.MuteAudio != nil || u.MuteVideo != nil) && !pt.hidden {
		// Sent under the lock, as every control event: in order.
		defer r.onEvent(Event{Type: EventParticipantUpdated, Room: r.id, Participant: id, At: r.clock.Now()})
	}
	if u.Name != nil {
		pt.name = *u.Name
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
	if u.MuteAudio == nil && u.GainDB == nil {
		return nil
	}
	if u.MuteAudio != nil {
		pt.muted = *u.MuteAudio
	}
	if u.GainDB != nil {
		pt.gainDB = *u.GainDB
	}
	muted, gain := pt.muted, pt.gainDB
	r.queueLocked(func(*audioClock) {
		pt.in.SetMuted(muted)
		_ = pt.in.SetGainDB(gain) // checked above
	})
	return nil
}

// SetMuted mutes or unmutes a participant in everyone else's mix.
func (r *Room) SetMuted(id media.ParticipantID, muted bool) error {
	return r.UpdateParticipant(id, ParticipantUpdate{MuteAudio: &muted})
}

// SetGain sets a participant's gain in dB in everyone else's mix.
func (r *Room) SetGain(id media.ParticipantID, db float64) error {
	return r.UpdateParticipant(id, ParticipantUpdate{GainDB: &db})
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
		r.layout, r.layoutSet = l, true
	default:
		if _, err := r.indexLocked(viewer); err != nil {
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
	if _, err := r.indexLocked(viewer); err != nil {
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
	if u.MaxSpeakers != nil {
		r.queueLocked(func(a *audioClock) { a.maxSpeakers = o.MaxSpeakers })
	}
	return nil
}

// keepWhenEmpty reports whether the room stays after its last participant.
func (r *Room) keepWhenEmpty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opts.KeepWhenEmpty
}
