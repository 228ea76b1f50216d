package mixer

import (
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

func TestSpeakerElection(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	e := SpeakerElection{Hold: time.Second}
	for i, st := range []struct {
		ms      int
		lead    media.ParticipantID
		changed bool
		speaker media.ParticipantID
	}{
		{0, "", false, ""},
		{20, "a", true, "a"}, // the first voice takes the slot at once
		{40, "b", false, "a"},
		{900, "b", false, "a"},
		{1039, "b", false, "a"},
		{1040, "b", true, "b"}, // b led for the hold
		{1060, "", false, "b"}, // nobody talks: b stays
		{1080, "a", false, "b"},
		{1100, "b", false, "b"}, // a's lead broke off
		{2090, "a", false, "b"}, // a leads again, from 2090
		{3089, "a", false, "b"},
		{3090, "a", true, "a"},
	} {
		if got := e.Observe(at(st.ms), st.lead); got != st.changed || e.Speaker() != st.speaker {
			t.Fatalf("step %d (%d ms, lead %q): changed %v speaker %q, want %v %q", i, st.ms, st.lead, got, e.Speaker(), st.changed, st.speaker)
		}
	}
}

// TestCapSpeakersAndLoudest: the loudest N unmuted inputs stay in the sum
// (ties in the order given), the rest are suppressed for one Mix; Loudest
// skips muted and silent inputs.
func TestCapSpeakersAndLoudest(t *testing.T) {
	m, err := New(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ins := []*Input{m.Add("a"), m.Add("b"), m.Add("c"), m.Add("d")}
	for i, lv := range []float64{-30, -20, -20, -10} {
		ins[i].level, ins[i].talking = lv, true
	}
	ins[3].SetMuted(true)
	rank := CapSpeakers(ins, 2, nil)
	var kept []media.ParticipantID
	for _, in := range ins {
		if !in.suppressed {
			kept = append(kept, in.ID())
		}
	}
	if len(kept) != 3 || kept[0] != "b" || kept[1] != "c" || kept[2] != "d" {
		t.Fatalf("kept %v, want b c (the loudest two) and d (muted: not ranked)", kept)
	}
	if allocs := testing.AllocsPerRun(20, func() { rank = CapSpeakers(ins, 2, rank) }); allocs != 0 {
		t.Fatalf("%v allocations per cap", allocs)
	}
	if got := Loudest(ins); got != ins[1] {
		t.Fatalf("loudest %v, want b (d is muted; b before c)", got.ID())
	}
	if got := Loudest(ins[:1]); got != ins[0] {
		t.Fatal("a alone is not the loudest")
	}
	ins[0].talking = false
	if got := Loudest(ins[:1]); got != nil {
		t.Fatal("a silent input is the loudest")
	}
}
