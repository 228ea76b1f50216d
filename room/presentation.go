package room

import (
	"fmt"
	"slices"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/media"
)

// shareIdle is how long a screen share may send nothing before it counts
// as ended. Browsers repeat an unchanged screen about once a second, so a
// still slide stays shared; a share whose track was stopped (or replaced
// by nothing) ends within this.
const shareIdle = 3 * time.Second

// shareRefresh: a live share silent this long is asked for a keyframe. A
// sender that sends an unchanged screen rarely (or only on change) answers
// with a fresh picture, so a still slide does not time out.
const shareRefresh = time.Second

// PresentationPeer is implemented by peers that may carry a second video
// track, a presentation (a screen share), beside the camera.
type PresentationPeer interface {
	// PresentationFrames delivers the presentation's complete encoded
	// frames (in the participant's video codec) in order, starting at a
	// keyframe; closed when the peer closes. nil: the participant can
	// share nothing (it negotiated no second video track).
	PresentationFrames() <-chan []byte
	// RequestPresentationKeyFrame asks for a keyframe of the presentation.
	RequestPresentationKeyFrame()
}

// presentationSource adapts a PresentationPeer's second track to what
// startVideoIn decodes.
type presentationSource struct{ pp PresentationPeer }

func (s presentationSource) VideoFrames() <-chan []byte { return s.pp.PresentationFrames() }
func (s presentationSource) RequestKeyFrame()           { s.pp.RequestPresentationKeyFrame() }

// presentationOf returns the peer's presentation channel source, if it
// negotiated one and the participant sends video the room decodes.
func (pt *participant) presentationOf() (presentationSource, bool) {
	pp, ok := pt.peer.(PresentationPeer)
	if !ok || pt.recvVideoCodec == "" || pp.PresentationFrames() == nil {
		return presentationSource{}, false
	}
	return presentationSource{pp}, true
}

// openPresentation creates the decoder of the participant's presentation
// track, if it has one.
func (pt *participant) openPresentation(reg *codec.Registry) error {
	if _, ok := pt.presentationOf(); !ok {
		return nil
	}
	c, err := reg.Video(pt.recvVideoCodec)
	if err == nil {
		pt.presDec, err = c.NewDecoder()
	}
	if err != nil {
		return fmt.Errorf("presentation decoder for %s: %w", pt.recvVideoCodec, err)
	}
	return nil
}

// sharing reports whether the participant's presentation is live at now,
// since when, and whether it has been silent for shareRefresh.
func (pt *participant) sharing(now time.Time) (live bool, since time.Time, quiet bool) {
	in := pt.pres
	if in == nil {
		return false, time.Time{}, false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	live = in.have && now.Sub(in.at) <= shareIdle
	return live, in.since, live && now.Sub(in.at) > shareRefresh
}

// followSharesLocked updates, at a video tick, the list
// of live shares (in the order they started) and announces those that
// started and ended; it returns the participant whose share is shown: the
// one chosen over the API while it shares, else the latest. The quiet
// live shares are appended to quiet, for the caller to ask each for a
// keyframe (refreshShare) once it let go of the lock.
func (r *Room) followSharesLocked(now time.Time, quiet []*participant) (*participant, []*participant) {
	var live [maxTiles]*participant
	var since [maxTiles]time.Time
	n := 0
	for _, p := range r.roster {
		ok, at, silent := p.sharing(now)
		if silent {
			quiet = append(quiet, p)
		}
		if ok && n < len(live) {
			// insertion by start time keeps the list in share order
			k := n
			for k > 0 && since[k-1].After(at) {
				live[k], since[k] = live[k-1], since[k-1]
				k--
			}
			live[k], since[k] = p, at
			n++
		}
	}
	changed := false
	for _, id := range r.shares {
		if !slices.ContainsFunc(live[:n], func(p *participant) bool { return p.id == id }) {
			changed = true
			r.onEvent(Event{Type: EventPresentationStopped, Room: r.id, Participant: id, At: now})
		}
	}
	for _, p := range live[:n] {
		if !slices.Contains(r.shares, p.id) {
			changed = true
			r.onEvent(Event{Type: EventPresentationStarted, Room: r.id, Participant: p.id, At: now})
		}
	}
	if changed {
		r.shares = r.shares[:0]
		for _, p := range live[:n] {
			r.shares = append(r.shares, p.id)
		}
		if !r.layoutSet {
			// The room's layout follows the share: announce it.
			r.onEvent(Event{Type: EventLayoutChanged, Room: r.id, At: now})
		}
	}
	if n == 0 {
		return nil, quiet
	}
	for _, p := range live[:n] {
		if p.id == r.chosenShare {
			return p, quiet
		}
	}
	return live[n-1], quiet
}

// refreshShare asks a quiet share for a keyframe; a peer that panics
// fails its participant only.
func (r *Room) refreshShare(pt *participant) {
	defer r.recoverFor(pt, "presentation keyframe request")
	if pp, ok := pt.peer.(PresentationPeer); ok {
		pp.RequestPresentationKeyFrame()
	}
}

// Presentations lists the participants sharing their screen, in the order
// they started, and the one shown ("" while nobody shares), as of the last
// video tick.
func (r *Room) Presentations() (sharing []media.ParticipantID, shown media.ParticipantID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.shares), r.shownShareLocked()
}

// shownShareLocked is the share shown: the chosen one while it shares,
// else the latest.
func (r *Room) shownShareLocked() media.ParticipantID {
	if len(r.shares) == 0 {
		return ""
	}
	if slices.Contains(r.shares, r.chosenShare) {
		return r.chosenShare
	}
	return r.shares[len(r.shares)-1]
}

// ShownLayout is the layout the room's canvas has now: the presentation
// layout while someone shares and no layout was set over the API, else
// the room's layout.
func (r *Room) ShownLayout() Layout {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.shares) > 0 && !r.layoutSet {
		return Layout{Type: LayoutPresentation}
	}
	return r.layout
}

// ShowPresentation chooses whose share is shown while several share ("":
// back to the latest). The participant must be in the room; its share is
// shown whenever it shares.
func (r *Room) ShowPresentation(id media.ParticipantID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if id != "" {
		if _, err := r.indexLocked(id); err != nil {
			return err
		}
	}
	r.chosenShare = id
	r.onEvent(Event{Type: EventLayoutChanged, Room: r.id, At: r.clock.Now()})
	return nil
}
