package opusloop

import (
	"math"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
)

// TestVoiceIsSpeech: libopus codes the talkers' voices alone and mixed as
// a room mixes them in its hybrid (speech) mode in every frame, with the
// encoder settings of the mcu's rooms (FEC, DTX) and of plain ones, also
// when the encoder started on fewer voices (a room's, as people join: the
// mode it picks first holds); and each talker's own tone stands out of a
// mix as it does alone.
func TestVoiceIsSpeech(t *testing.T) {
	for _, talkers := range []int{4, 8, 16, 32} {
		amp := ToneAmp(talkers)
		// mixes[k] is what the last talker hears once k+1 others talk.
		mixes := make([][]int16, talkers-1)
		acc := make([]int, LoopFrames*FrameLen)
		alone := make([]float64, len(mixes)) // each talker's tone in its voice
		for i := range mixes {
			voice := VoicePCM(ToneHz(i), amp)
			alone[i] = codectest.Goertzel(voice, ToneHz(i))
			for k, v := range voice {
				acc[k] += int(v)
			}
			mixes[i] = make([]int16, len(acc))
			for k, s := range acc {
				if s > math.MaxInt16 || s < math.MinInt16 {
					t.Fatalf("%d talkers: the mix of %d clips at sample %d (%d)", talkers, i+1, k, s)
				}
				mixes[i][k] = int16(s)
			}
		}
		last := mixes[len(mixes)-1]
		for j, level := range alone {
			if a := codectest.Goertzel(last, ToneHz(j)); a < level*0.8 || a > level*1.25 {
				t.Errorf("%d voices: talker %d's %.0f Hz tone at %.0f in the mix, %.0f alone", len(mixes), j, ToneHz(j), a, level)
			}
		}
		for _, room := range []bool{true, false} {
			enc, err := opus.NewEncoder(codec.EncoderParams{FEC: room, DTX: room})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			for i, mix := range mixes {
				hybrid, frames := 0, 0
				for f := range LoopFrames {
					m, err := enc.Encode(mix[f*FrameLen:][:FrameLen], buf)
					if err != nil {
						t.Fatal(err)
					}
					if (i == 0 && f < LoopFrames/4) || m == 0 {
						continue // the encoder's first frames
					}
					frames++
					if c := buf[0] >> 3; c >= 12 && c < 16 {
						hybrid++
					}
				}
				if hybrid != frames {
					t.Errorf("%d talkers at %.0f, %d heard (room encoder %v): %d of %d frames hybrid, want all", talkers, amp, i+1, room, hybrid, frames)
				}
			}
			enc.Close()
		}
	}
}
