package opusloop

import (
	"math"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/codectest"
	"github.com/mcu-project/mcu/codec/opus"
)

// TestVoiceIsSpeech: libopus codes the talkers' voices mixed as a room
// mixes them (two or more: everyone in the benchmark's voice scenarios
// hears at least two) in its hybrid (speech) mode in every frame, with the
// encoder settings of the mcu's rooms (FEC, DTX) and of plain ones; and
// each talker's own tone stands out of a mix as it does alone.
func TestVoiceIsSpeech(t *testing.T) {
	for _, n := range []int{2, 3, 4, 8, 16, 31} {
		amp := ToneAmp(n)
		loops := make([][]int16, n)
		for i := range loops {
			loops[i] = VoicePCM(ToneHz(i), amp)
		}
		mix := make([]int16, len(loops[0]))
		for k := range mix {
			s := 0
			for _, l := range loops {
				s += int(l[k])
			}
			if s > math.MaxInt16 || s < math.MinInt16 {
				t.Fatalf("%d voices: the mix clips at sample %d (%d)", n, k, s)
			}
			mix[k] = int16(s)
		}
		for _, room := range []bool{true, false} {
			enc, err := opus.NewEncoder(codec.EncoderParams{FEC: room, DTX: room})
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			hybrid, frames := 0, 0
			for f := range 3 * LoopFrames {
				m, err := enc.Encode(mix[f%LoopFrames*FrameLen:][:FrameLen], buf)
				if err != nil {
					t.Fatal(err)
				}
				if f < LoopFrames/2 || m == 0 {
					continue
				}
				frames++
				if c := buf[0] >> 3; c >= 12 && c < 16 {
					hybrid++
				}
			}
			enc.Close()
			if hybrid != frames {
				t.Errorf("%d voices (room encoder %v): %d of %d frames hybrid, want all", n, room, hybrid, frames)
			}
		}
		for i := range n {
			alone := VoiceToneLevel(ToneHz(i), amp)
			if a := codectest.Goertzel(mix, ToneHz(i)); a < alone*0.8 || a > alone*1.25 {
				t.Errorf("%d voices: talker %d's %.0f Hz tone at %.0f in the mix, %.0f alone", n, i, ToneHz(i), a, alone)
			}
		}
	}
}
