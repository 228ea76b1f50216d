package room

import (
	"fmt"

	"github.com/mcu-project/mcu/codec"
)

// fullAudioBps is the Opus rate of a listener whose link has room (and of
// one whose link we know nothing of): speech and music stay transparent in
// a mixed conference.
const fullAudioBps = 40_000

// audioRates are the rates a listener's link may bring its audio down to,
// highest first. On the wire each 20 ms packet adds about 60 bytes of
// RTP, SRTP and UDP/IP headers (24 kb/s), so 12 kb/s of Opus takes about
// 36 kb/s: it fits a 60 kb/s link with room for the feedback.
var audioRates = [...]int{fullAudioBps, 32_000, 24_000, 16_000, 12_000}

const (
	// audioShareDown and audioShareUp bound the audio payload's share of
	// the link's estimate: above 1/6 it steps down, and it steps up only
	// while the higher rate would take at most 1/8 (the gap keeps it from
	// flapping with the estimate's wobble).
	audioShareDown = 6
	audioShareUp   = 8
)

// audioRateFor is the audio rate for a link estimated at est b/s (0: no
// estimate, the full rate), given the rate cur it has now.
func audioRateFor(est, cur int) int {
	if est <= 0 {
		return fullAudioBps
	}
	for _, r := range audioRates {
		switch {
		case r == cur && r*audioShareDown <= est:
			return r
		case r*audioShareUp <= est:
			return r
		}
	}
	return audioRates[len(audioRates)-1]
}

// sharedKeyFor names the shared full-mix encode for a codec, RTP clock
// rate and audio rate.
func sharedKeyFor(mime string, clockRate, bps int) string {
	return fmt.Sprintf("%s/%d/%d", mime, clockRate, bps)
}

// adaptRate sets a listener's audio rate from its link: its own encoder
// takes it at once, and it moves to the shared full mix of that rate. It
// reports whether the rate changed.
func (o *audioOut) adaptRate(est int) bool {
	bps := audioRateFor(est, o.bps)
	bc, ok := o.enc.(codec.BitrateController) // not a fixed-rate codec (G.711)
	if bps == o.bps || !ok || bc.SetBitrate(bps) != nil {
		return false
	}
	o.bps = bps
	o.sharedKey = sharedKeyFor(o.codec, o.rate, bps)
	return true
}
