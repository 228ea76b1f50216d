package room

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
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

// TestRecentSpeakersMatchesSort: on random views full of ties, the choice
// is the plain one (a stable sort by recency, the first n, back in view
// order), and it is made in place.
func TestRecentSpeakersMatchesSort(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		view := make([]tileRef, 1+rng.IntN(40))
		for i := range view {
			view[i] = tileRef{p: &participant{id: media.ParticipantID(fmt.Sprint(i))}}
			if s := rng.IntN(6); s > 0 { // 0: never spoke
				view[i].spoke = t0.Add(time.Duration(s) * time.Second)
			}
		}
		n := 1 + rng.IntN(maxTiles)
		idx := make([]int, len(view))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return view[idx[a]].spoke.After(view[idx[b]].spoke) })
		keep := idx[:min(n, len(idx))]
		sort.Ints(keep)
		var want []media.ParticipantID
		for _, i := range keep {
			want = append(want, view[i].p.id)
		}
		got := recentSpeakers(view, n)
		var ids []media.ParticipantID
		for _, r := range got {
			ids = append(ids, r.p.id)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("%d of %d: chose %v, want %v", n, len(view), ids, want)
		}
		if &got[0] != &view[0] {
			t.Fatal("the choice is not a prefix of the view")
		}
	}
}
