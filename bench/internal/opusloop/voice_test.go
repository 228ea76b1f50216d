package opusloop

import (
	"math"
	"slices"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
)

// TestStaggeredVoices: the talkers' voices, staggered as the load sends
// them, are coded in one mode in every frame for a given number of voices
// mixed, whatever came before (one encoder hears each mix grow one talker
// at a time, as a room's does when people join) and whether the encoder
// has the mcu's room settings (FEC, DTX; expecting no loss or
// InitialLossPercent) or plain ones: hybrid (speech) up to five voices,
// CELT-only (libopus hears the babble as music) from seven. With the
// steady tones the load sent before, the same mix came out either way
// from run to run. Each talker's own tone stands out of the largest mix as
// it does alone, for telling talkers apart.
func TestStaggeredVoices(t *testing.T) {
	for _, talkers := range []int{4, 8, 16, 32} {
		amp := ToneAmp(talkers)
		// mixes[k] is what the last talker hears once k+1 others talk.
		mixes := make([][]int16, talkers-1)
		acc := make([]int, LoopFrames*FrameLen)
		alone := make([]float64, len(mixes)) // each talker's tone in its voice
		for i := range mixes {
			voice := VoicePCM(ToneHz(i), amp)
			alone[i] = codectest.Goertzel(voice, ToneHz(i))
			k := i * staggerStep % LoopFrames * FrameLen
			for j, v := range slices.Concat(voice[k:], voice[:k]) {
				acc[j] += int(v)
			}
			mixes[i] = make([]int16, len(acc))
			for j, s := range acc {
				if s > math.MaxInt16 || s < math.MinInt16 {
					t.Fatalf("%d talkers: the mix of %d clips at sample %d (%d)", talkers, i+1, j, s)
				}
				mixes[i][j] = int16(s)
			}
		}
		last := mixes[len(mixes)-1]
		for j, level := range alone {
			if a := codectest.Goertzel(last, ToneHz(j)); a < level*0.8 || a > level*1.25 {
				t.Errorf("%d voices: talker %d's %.0f Hz tone at %.0f in the mix, %.0f alone", len(mixes), j, ToneHz(j), a, level)
			}
		}
		for _, enc := range []struct {
			name string
			p    codec.EncoderParams
			loss int
		}{
			{"room, no loss", codec.EncoderParams{FEC: true, DTX: true}, 0},
			{"room, initial loss", codec.EncoderParams{FEC: true, DTX: true}, opus.InitialLossPercent},
			{"plain", codec.EncoderParams{}, 0},
		} {
			e, err := opus.NewEncoder(enc.p)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.SetPacketLossPercent(enc.loss); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			for i, mix := range mixes {
				var modes [3]int
				for f := range LoopFrames {
					m, err := e.Encode(mix[f*FrameLen:][:FrameLen], buf)
					if err != nil {
						t.Fatal(err)
					}
					if m > 0 {
						modes[opus.PacketMode(buf[0])]++
					}
				}
				voices, frames := i+1, modes[0]+modes[1]+modes[2]
				switch {
				case voices <= 5 && modes[opus.ModeHybrid] != frames:
					t.Errorf("%d talkers, %d heard (%s): modes %v, want all hybrid", talkers, voices, enc.name, modes)
				case voices >= 7 && modes[opus.ModeCELT] != frames:
					t.Errorf("%d talkers, %d heard (%s): modes %v, want all CELT-only", talkers, voices, enc.name, modes)
				}
			}
			e.Close()
		}
	}
}
