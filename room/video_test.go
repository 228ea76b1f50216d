package room

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

// TestRecentSpeakers: beyond 16 tiles the canvas shows the 16 who spoke
// most recently (earlier joiners first on ties), still in join order.
func TestRecentSpeakers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	view := make([]tileRef, 20)
	for i := range view {
		view[i] = tileRef{p: &participant{id: media.ParticipantID(fmt.Sprint(i))}}
	}
	// Participants 17, 18, 19 spoke (19 most recently); 2 spoke long ago.
	view[17].spoke, view[18].spoke, view[19].spoke = t0.Add(3*time.Second), t0.Add(4*time.Second), t0.Add(5*time.Second)
	view[2].spoke = t0
	var got []string
	for _, r := range recentSpeakers(view, 16) {
		got = append(got, string(r.p.id))
	}
	// The four speakers, then the 12 earliest joiners who never spoke.
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "17", "18", "19"}
	if !slices.Equal(got, want) {
		t.Fatalf("shown %v\nwant  %v", got, want)
	}
	if small := recentSpeakers(view[:5], 16); len(small) != 5 {
		t.Fatalf("5 tiles became %d", len(small))
	}
}
