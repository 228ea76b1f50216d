package mixer

import (
	"slices"
	"time"

	"github.com/mcu-project/mcu/media"
)

// CapSpeakers leaves all but the maxN loudest unmuted inputs of ins out of
// the next Mix's sum (by the level measured so far, which keeps being
// measured for those left out); ties go to the earlier in ins, so a room
// passes its inputs in join order. maxN 0 mixes everyone. rank is scratch
// space, returned for the next call so that capping allocates nothing once
// it has grown.
func CapSpeakers(ins []*Input, maxN int, rank []*Input) []*Input {
	rank = rank[:0]
	if maxN <= 0 || len(ins) <= maxN {
		return rank
	}
	for _, in := range ins {
		if !in.Muted() {
			rank = append(rank, in)
		}
	}
	if len(rank) <= maxN {
		return rank
	}
	slices.SortStableFunc(rank, func(a, b *Input) int {
		switch la, lb := a.Level(), b.Level(); {
		case la > lb:
			return -1
		case la < lb:
			return 1
		}
		return 0
	})
	for _, in := range rank[maxN:] {
		in.Suppress()
	}
	return rank
}

// Loudest is the loudest input of ins that is talking and not muted (ties:
// the earlier), nil when nobody talks.
func Loudest(ins []*Input) *Input {
	var lead *Input
	for _, in := range ins {
		if in.Talking() && !in.Muted() && (lead == nil || in.Level() > lead.Level()) {
			lead = in
		}
	}
	return lead
}

// SpeakerElection chooses the active speaker from the loudest talker of
// each tick: a new voice takes over once it has led for Hold, so a
// speaker layout does not flap between voices; with nobody talking the last
// speaker stays. It is pure: time is passed in.
type SpeakerElection struct {
	Hold time.Duration

	speaker, candidate media.ParticipantID
	since              time.Time
}

// Observe takes the tick's loudest talker ("" for nobody) at time at and
// reports whether the speaker changed.
func (e *SpeakerElection) Observe(at time.Time, lead media.ParticipantID) bool {
	if lead == "" || lead == e.speaker {
		e.candidate = ""
		return false
	}
	if lead != e.candidate {
		e.candidate, e.since = lead, at
	}
	if e.speaker == "" || at.Sub(e.since) >= e.Hold {
		e.speaker, e.candidate = lead, ""
		return true
	}
	return false
}

// Speaker is the elected speaker ("" before anyone talked).
func (e *SpeakerElection) Speaker() media.ParticipantID { return e.speaker }
