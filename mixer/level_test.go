package mixer

import (
	"math"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

// sineFrame fills f with a 1 kHz sine of the given peak amplitude. 960
// samples are exactly 20 periods at 48 kHz, so consecutive frames join
// without a phase jump.
func sineFrame(f *media.AudioFrame, amplitude float64) {
	for i := range f.Samples {
		f.Samples[i] = int16(math.Round(amplitude * math.Sin(2*math.Pi*1000*float64(i)/media.SampleRate)))
	}
}

func TestLevel(t *testing.T) {
	cases := []struct {
		name      string
		amplitude float64
		want      float64
	}{
		{"full-scale sine", 32767, -3.01},
		{"-20 dB sine", 32767 * 0.1, -23.01},
		{"-60 dB sine", 32767 * 0.001, -63.01},
		{"silence", 0, SilenceDBov},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _ := New(DefaultOptions())
			in := m.Add("a")
			sineFrame(in.Frame(), c.amplitude)
			in.SetPresent(true)
			m.Mix(t0)
			if got := in.Level(); math.Abs(got-c.want) > 0.5 {
				t.Fatalf("Level = %.2f dBov, want %.2f ± 0.5", got, c.want)
			}
			if in.FrameLevel() != in.Level() {
				t.Fatalf("FrameLevel %.2f != Level %.2f after one frame", in.FrameLevel(), in.Level())
			}
		})
	}
}

func TestLevelBeforeGainAndMute(t *testing.T) {
	m, _ := New(DefaultOptions())
	in := m.Add("a")
	if err := in.SetGainDB(-20); err != nil {
		t.Fatal(err)
	}
	in.SetMuted(true)
	sineFrame(in.Frame(), 32767)
	in.SetPresent(true)
	if st := m.Mix(t0); st.Mixed != 0 || st.PeakSum != 0 {
		t.Fatalf("muted input mixed: %+v", st)
	}
	if got := in.Level(); math.Abs(got+3.01) > 0.5 {
		t.Fatalf("muted input Level = %.2f, want the received -3.01", got)
	}
	in.SetMuted(false)
	sineFrame(in.Frame(), 32767)
	in.SetPresent(true)
	m.Mix(t0.Add(media.FrameDuration))
	if got := in.Level(); math.Abs(got+3.01) > 0.5 {
		t.Fatalf("-20 dB gain changed Level to %.2f", got)
	}
}

// TestLevelDecay: rises are immediate, an absent input's level falls by
// LevelReleaseDB per tick down to the floor.
func TestLevelDecay(t *testing.T) {
	o := DefaultOptions()
	m, _ := New(o)
	in := m.Add("a")
	sineFrame(in.Frame(), 32767)
	in.SetPresent(true)
	m.Mix(t0)
	start := in.Level()
	now := t0
	for k := 1; k <= 5; k++ {
		now = now.Add(media.FrameDuration)
		m.Mix(now) // absent
		if want := start - float64(k)*o.LevelReleaseDB; math.Abs(in.Level()-want) > 1e-9 {
			t.Fatalf("after %d absent ticks Level = %v, want %v", k, in.Level(), want)
		}
		if in.FrameLevel() != SilenceDBov {
			t.Fatalf("absent FrameLevel = %v", in.FrameLevel())
		}
	}
	for range 100 {
		now = now.Add(media.FrameDuration)
		m.Mix(now)
	}
	if in.Level() != SilenceDBov {
		t.Fatalf("Level = %v after long absence, want %v", in.Level(), SilenceDBov)
	}
}

// talkRun feeds one input frame by frame. loud(k) says whether tick k
// carries a full-scale tone (else silence); ticks are step apart. It
// returns Talking after each tick and every reported change with its tick.
type change struct {
	tick int
	c    TalkingChange
}

func talkRun(t *testing.T, o Options, ticks int, step time.Duration, frame func(k int, in *Input)) ([]bool, []change) {
	t.Helper()
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	in := m.Add("talker")
	quiet := m.Add("quiet") // never talks; must never be reported
	talking := make([]bool, ticks)
	var changes []change
	for k := range ticks {
		frame(k, in)
		quiet.Frame().Clear()
		quiet.SetPresent(true)
		st := m.Mix(t0.Add(time.Duration(k) * step))
		talking[k] = in.Talking()
		if quiet.Talking() {
			t.Fatalf("tick %d: silent input talking", k)
		}
		if (st.Talking == 1) != in.Talking() {
			t.Fatalf("tick %d: Stats.Talking %d, Talking %v", k, st.Talking, in.Talking())
		}
		for _, c := range m.TalkingChanges() {
			changes = append(changes, change{k, c})
		}
	}
	return talking, changes
}

// toneIf returns a frame function playing a full-scale tone where loud(k).
func toneIf(loud func(k int) bool) func(int, *Input) {
	return func(k int, in *Input) {
		if loud(k) {
			sineFrame(in.Frame(), 32767)
		} else {
			in.Frame().Clear()
		}
		in.SetPresent(true)
	}
}

// wantTalking builds the expected Talking per tick: true on [on, off).
func wantTalking(ticks, on, off int) []bool {
	w := make([]bool, ticks)
	for k := on; k < off && k < ticks; k++ {
		w[k] = true
	}
	return w
}

func checkTalking(t *testing.T, got, want []bool) {
	t.Helper()
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("tick %d: Talking %v, want %v (got %v)", k, got[k], want[k], got)
		}
	}
}

func checkChanges(t *testing.T, got []change, want ...change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("changes %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].tick != want[i].tick || got[i].c.ID != want[i].c.ID || got[i].c.Talking != want[i].c.Talking {
			t.Fatalf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestTalkingHysteresis, with the defaults (on -40 dBov after 40 ms, off
// below -50 dBov after 500 ms), 20 ms ticks:
//   - tone from tick 0: above since tick 0, 40 ms elapsed at tick 2 → talking.
//   - 200 ms pause (ticks 50-59): shorter than the hang time → still talking.
//   - silence from tick 80: 500 ms elapsed at tick 105 → stops.
func TestTalkingHysteresis(t *testing.T) {
	const ticks = 130
	loud := func(k int) bool { return k < 50 || (k >= 60 && k < 80) }
	got, changes := talkRun(t, DefaultOptions(), ticks, media.FrameDuration, toneIf(loud))
	checkTalking(t, got, wantTalking(ticks, 2, 105))
	checkChanges(t, changes,
		change{2, TalkingChange{ID: "talker", Talking: true}},
		change{105, TalkingChange{ID: "talker", Talking: false}},
	)
	if l := changes[0].c.Level; math.Abs(l+3.01) > 0.5 {
		t.Fatalf("start change Level %.2f, want about -3", l)
	}
}

// TestTalkingBlipIgnored: a single loud frame (a click) and a 20 ms burst
// never reach the 40 ms start delay.
func TestTalkingBlipIgnored(t *testing.T) {
	loud := func(k int) bool { return k == 3 || k == 10 || k == 11 }
	got, changes := talkRun(t, DefaultOptions(), 30, media.FrameDuration, toneIf(loud))
	checkTalking(t, got, wantTalking(30, 0, 0))
	checkChanges(t, changes)
}

// TestTalkingBetweenThresholds: a level between off (-50) and on (-40)
// neither starts talking nor stops it — that gap is the hysteresis.
func TestTalkingBetweenThresholds(t *testing.T) {
	const ticks = 100
	mid := 32767 * math.Pow(10, -42.0/20) // sine at about -45 dBov
	frame := func(k int, in *Input) {
		switch {
		case k < 20: // mid level only: not enough to start
			sineFrame(in.Frame(), mid)
		case k < 25: // loud: starts at tick 22
			sineFrame(in.Frame(), 32767)
		default: // mid level for 1.5 s: must keep talking
			sineFrame(in.Frame(), mid)
		}
		in.SetPresent(true)
	}
	got, changes := talkRun(t, DefaultOptions(), ticks, media.FrameDuration, frame)
	checkTalking(t, got, wantTalking(ticks, 22, ticks))
	checkChanges(t, changes, change{22, TalkingChange{ID: "talker", Talking: true}})
}

// TestTalkingUsesTime: with ticks 100 ms apart (a stalled clock), talking
// starts on the second loud tick and stops on the fifth silent tick after
// the first, because the delays are measured on now, not counted in ticks.
func TestTalkingUsesTime(t *testing.T) {
	const ticks = 20
	loud := func(k int) bool { return k < 5 }
	got, changes := talkRun(t, DefaultOptions(), ticks, 100*time.Millisecond, toneIf(loud))
	checkTalking(t, got, wantTalking(ticks, 1, 10))
	checkChanges(t, changes,
		change{1, TalkingChange{ID: "talker", Talking: true}},
		change{10, TalkingChange{ID: "talker", Talking: false}},
	)
}

// TestTalkingAbsentIsSilence: frames that stop arriving count as silence,
// so talking survives a short loss and stops after the hang time.
func TestTalkingAbsentIsSilence(t *testing.T) {
	const ticks = 60
	frame := func(k int, in *Input) {
		if k < 10 || (k >= 15 && k < 20) {
			sineFrame(in.Frame(), 32767)
			in.SetPresent(true)
		}
	}
	got, changes := talkRun(t, DefaultOptions(), ticks, media.FrameDuration, frame)
	checkTalking(t, got, wantTalking(ticks, 2, 45))
	checkChanges(t, changes,
		change{2, TalkingChange{ID: "talker", Talking: true}},
		change{45, TalkingChange{ID: "talker", Talking: false}},
	)
}

// TestTalkingMute: muting stops talking at the next Mix (others no longer
// hear it); after unmuting the start delay applies again.
func TestTalkingMute(t *testing.T) {
	const ticks = 20
	frame := func(k int, in *Input) {
		in.SetMuted(k >= 5 && k < 10)
		sineFrame(in.Frame(), 32767)
		in.SetPresent(true)
	}
	got, changes := talkRun(t, DefaultOptions(), ticks, media.FrameDuration, frame)
	want := wantTalking(ticks, 2, 5)
	for k := 12; k < ticks; k++ {
		want[k] = true
	}
	checkTalking(t, got, want)
	checkChanges(t, changes,
		change{2, TalkingChange{ID: "talker", Talking: true}},
		change{5, TalkingChange{ID: "talker", Talking: false}},
		change{12, TalkingChange{ID: "talker", Talking: true}},
	)
}

// TestTalkingZeroDelays: with no start delay and no hang time, talking
// follows each frame (still with the two thresholds).
func TestTalkingZeroDelays(t *testing.T) {
	o := DefaultOptions()
	o.TalkStartDelay, o.TalkHangTime = 0, 0
	loud := func(k int) bool { return k == 3 }
	got, changes := talkRun(t, o, 6, media.FrameDuration, toneIf(loud))
	checkTalking(t, got, wantTalking(6, 3, 4))
	checkChanges(t, changes,
		change{3, TalkingChange{ID: "talker", Talking: true}},
		change{4, TalkingChange{ID: "talker", Talking: false}},
	)
}

func TestRemoveStopsTalking(t *testing.T) {
	m, _ := New(DefaultOptions())
	in := m.Add("a")
	for k := range 3 {
		sineFrame(in.Frame(), 32767)
		in.SetPresent(true)
		m.Mix(t0.Add(time.Duration(k) * media.FrameDuration))
	}
	if !in.Talking() {
		t.Fatal("not talking after 60 ms of tone")
	}
	m.Remove(in)
	if in.Talking() {
		t.Fatal("removed input still talking")
	}
}
