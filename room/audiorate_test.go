package room

import (
	"math"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

func TestAudioRateFor(t *testing.T) {
	for _, tc := range []struct {
		est, cur, want int
	}{
		{0, 12_000, fullAudioBps}, // no estimate: full rate
		{2_000_000, fullAudioBps, fullAudioBps},
		{300_000, fullAudioBps, fullAudioBps}, // 40k is 1/7.5 of it: stays
		{200_000, fullAudioBps, 24_000},       // straight to what fits
		{200_000, 24_000, 24_000},             // 32k would be 1/6.25: no climb
		{260_000, 24_000, 32_000},             // 32k is 1/8.1 of it: climbs
		{60_000, fullAudioBps, 12_000},
		{20_000, 12_000, 12_000}, // the floor
	} {
		if got := audioRateFor(tc.est, tc.cur); got != tc.want {
			t.Errorf("estimate %d at %d: %d, want %d", tc.est, tc.cur, got, tc.want)
		}
	}
}

// TestAudioRateFollowsLink: a listener behind a 60 kb/s link gets its
// audio at the lowest rate, a listener with room the full rate, though
// both hear the same full mix (each group of listeners of one rate shares
// one encode), and the tone stays audible at both.
func TestAudioRateFollowsLink(t *testing.T) {
	m := newTestManager(t)
	talker := newFakePeer(t, 440)
	wide := &reportingPeer{fakePeer: newFakePeer(t, 0)}
	narrow := &reportingPeer{fakePeer: newFakePeer(t, 0)}
	join(t, m, "r", talker)
	join(t, m, "r", wide)
	join(t, m, "r", narrow)
	wide.report(media.LinkSample{EstimateBps: 2_000_000, AudioReported: true})
	narrow.report(media.LinkSample{EstimateBps: 40_000, AudioReported: true})
	m.run(t, 1100*time.Millisecond) // the room adapts once a second
	wideFrom, narrowFrom := len(wide.snapshot()), len(narrow.snapshot())
	m.run(t, 2*time.Second)
	for _, tc := range []struct {
		name     string
		p        *reportingPeer
		from     int
		min, max float64
	}{
		{"behind a 40 kb/s estimate", narrow, narrowFrom, 8_000, 14_000},
		{"with room to spare", wide, wideFrom, 30_000, 44_000},
	} {
		pkts := tc.p.snapshot()[tc.from:]
		bytes := 0
		for _, s := range pkts {
			bytes += len(s.payload)
		}
		bps := float64(bytes) * 8 / 2
		l := level(decodeAll(t, pkts)[5*960:], 440)
		t.Logf("%s: %.0f b/s of Opus, the tone at %+.2f dB", tc.name, bps, l)
		if bps < tc.min || bps > tc.max {
			t.Errorf("%s: %.0f b/s of Opus, want %.0f to %.0f", tc.name, bps, tc.min, tc.max)
		}
		if math.Abs(l) > 3 {
			t.Errorf("%s: the tone at %+.2f dB, want within 3 dB", tc.name, l)
		}
	}
}
