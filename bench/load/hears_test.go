package load

import "testing"

// TestHearsTalk: which participants' mixes carry a steady talker, so must
// come at 50 packets/s (a silent mix is sent with DTX).
func TestHearsTalk(t *testing.T) {
	for _, tc := range []struct {
		talkers int
		latency bool
		want    []bool // participants 0..3
	}{
		{4, false, []bool{true, true, true, true}},
		{1, false, []bool{false, true, true, true}},
		{0, false, []bool{false, false, false, false}},
		{2, true, []bool{true, false, true, true}}, // 0 toggles: 1 hears nobody steady
		{3, true, []bool{true, true, true, true}},
	} {
		for i, want := range tc.want {
			if got := hearsTalk(i, tc.talkers, tc.latency); got != want {
				t.Errorf("talkers %d, latency %v: participant %d hears talk %v, want %v", tc.talkers, tc.latency, i, got, want)
			}
		}
	}
}
