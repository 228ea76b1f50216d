package mixer

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

// Tests use only the standard library: testify's assert/yaml needs
// go.yaml.in/yaml/v3, which go.sum does not list, and this package must not
// touch go.mod.

// inCase is one input of a table case. samples is a pattern tiled over the
// whole frame (sample i is samples[i%len]); every input and expectation of
// a case uses the same pattern length.
type inCase struct {
	samples []int16
	gainDB  float64
	muted   bool
	absent  bool
}

type mixCase struct {
	name      string
	inputs    []inCase
	wantAll   []int16   // MixAll, tiled like the inputs
	wantMinus [][]int16 // MixMinus for each input, in order
}

// mixCases are the exact-sample cases; FuzzMix is seeded from them too.
// Expected values follow the package doc: contribution (s*g+32768)>>16 with
// g = 130762 at +6 dB and 32846 at -6 dB, output Limit(sum).
var mixCases = []mixCase{
	{
		name: "two inputs",
		inputs: []inCase{
			{samples: []int16{1000, -2000, 0, 32767}},
			{samples: []int16{500, 500, -7, -32768}},
		},
		wantAll: []int16{1500, -1500, -7, -1},
		// A lone full-scale sample is over the knee: Limit(±32767/8) = ±30814/5.
		wantMinus: [][]int16{
			{500, 500, -7, -30815},
			{1000, -2000, 0, 30814},
		},
	},
	{
		name: "three inputs",
		inputs: []inCase{
			{samples: []int16{100, 200, -300}},
			{samples: []int16{1000, -1000, 5}},
			{samples: []int16{-50, 0, 7000}},
		},
		wantAll: []int16{1050, -800, 6705},
		wantMinus: [][]int16{
			{950, -1000, 7005},
			{50, 200, 6700},
			{1100, -800, -295},
		},
	},
	{
		name: "gain +6 dB",
		inputs: []inCase{
			{samples: []int16{1000, -1000, 1, 3}, gainDB: 6},
			{samples: []int16{10, 10, 10, 10}},
		},
		wantAll: []int16{2005, -1985, 12, 16},
		wantMinus: [][]int16{
			{10, 10, 10, 10},
			{1995, -1995, 2, 6},
		},
	},
	{
		name: "gain -6 dB",
		inputs: []inCase{
			{samples: []int16{1000, -1000, 32767, -32768}, gainDB: -6},
			{samples: []int16{0, 0, 0, 0}},
		},
		wantAll: []int16{501, -501, 16422, -16423},
		wantMinus: [][]int16{
			{0, 0, 0, 0},
			{501, -501, 16422, -16423},
		},
	},
	{
		name: "muted input contributes nothing and hears the full mix",
		inputs: []inCase{
			{samples: []int16{1000, 2000}, muted: true},
			{samples: []int16{300, -400}},
		},
		wantAll: []int16{300, -400},
		wantMinus: [][]int16{
			{300, -400},
			{0, 0},
		},
	},
	{
		name: "absent input contributes nothing and hears the full mix",
		inputs: []inCase{
			{samples: []int16{1000, 2000}, absent: true},
			{samples: []int16{300, -400}},
		},
		wantAll: []int16{300, -400},
		wantMinus: [][]int16{
			{300, -400},
			{0, 0},
		},
	},
	{
		name: "lone input hears silence",
		inputs: []inCase{
			{samples: []int16{32767, -32768, 123}},
		},
		wantAll: []int16{30814, -30815, 123},
		wantMinus: [][]int16{
			{0, 0, 0},
		},
	},
	{
		name: "sum at the knee passes exactly",
		inputs: []inCase{
			{samples: []int16{12288, -12288, 12289}},
			{samples: []int16{12288, -12288, 12288}},
		},
		wantAll: []int16{24576, -24576, 24577},
		wantMinus: [][]int16{
			{12288, -12288, 12288},
			{12288, -12288, 12289},
		},
	},
	{
		name: "four full-scale inputs are limited, not wrapped",
		inputs: []inCase{
			{samples: []int16{32767, -32768, 8000, 20000}},
			{samples: []int16{32767, -32768, 8000, 20000}},
			{samples: []int16{32767, -32768, 8000, 20000}},
			{samples: []int16{32767, -32768, 8000, 20000}},
		},
		// sums 131068, -131072, 32000, 80000; minus one: 98301, -98304, 24000, 60000
		wantAll: []int16{32767, -32767, 30468, 32767},
		wantMinus: [][]int16{
			{32767, -32767, 24000, 32764},
			{32767, -32767, 24000, 32764},
			{32767, -32767, 24000, 32764},
			{32767, -32767, 24000, 32764},
		},
	},
	{
		name: "opposite signs cancel before the limiter",
		inputs: []inCase{
			{samples: []int16{32767, -32768}},
			{samples: []int16{-32768, 32767}},
			{samples: []int16{20000, 20000}},
		},
		// sums 19999, 19999; minus a or b: -12768 and 52767 (Limit: 32750)
		wantAll: []int16{19999, 19999},
		wantMinus: [][]int16{
			{-12768, 32750},
			{32750, -12768},
			{-1, -1},
		},
	},
}

// setupCase builds a mixer holding the case's inputs, frames filled and
// presence, mute and gain set, ready for Mix.
func setupCase(tb testing.TB, c mixCase) (*Mixer, []*Input) {
	tb.Helper()
	m, err := New(DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	ins := make([]*Input, len(c.inputs))
	for k, ic := range c.inputs {
		in := m.Add(media.ParticipantID(fmt.Sprintf("p%d", k)))
		fillPattern(in.Frame(), ic.samples)
		if err := in.SetGainDB(ic.gainDB); err != nil {
			tb.Fatal(err)
		}
		in.SetMuted(ic.muted)
		in.SetPresent(!ic.absent)
		ins[k] = in
	}
	return m, ins
}

func fillPattern(f *media.AudioFrame, pattern []int16) {
	for i := range f.Samples {
		f.Samples[i] = pattern[i%len(pattern)]
	}
}

// checkPattern fails unless every sample of got is want tiled.
func checkPattern(t *testing.T, what string, got *media.AudioFrame, want []int16) {
	t.Helper()
	for i, s := range got.Samples {
		if w := want[i%len(want)]; s != w {
			t.Fatalf("%s: sample %d = %d, want %d (pattern %v)", what, i, s, w, want)
		}
	}
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestMixTable(t *testing.T) {
	for _, c := range mixCases {
		t.Run(c.name, func(t *testing.T) {
			m, ins := setupCase(t, c)
			st := m.Mix(t0)
			present, mixed := 0, 0
			for _, ic := range c.inputs {
				if !ic.absent {
					present++
					if !ic.muted {
						mixed++
					}
				}
			}
			if st.Inputs != len(c.inputs) || st.Present != present || st.Mixed != mixed {
				t.Fatalf("stats %+v, want Inputs %d Present %d Mixed %d", st, len(c.inputs), present, mixed)
			}
			var out media.AudioFrame
			m.MixAll(&out)
			checkPattern(t, "MixAll", &out, c.wantAll)
			for k, in := range ins {
				out.Clear()
				m.MixMinus(in, &out)
				checkPattern(t, fmt.Sprintf("MixMinus(%d)", k), &out, c.wantMinus[k])
			}
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(DefaultOptions()); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	bad := []struct {
		name string
		mod  func(*Options)
	}{
		{"zero value", func(o *Options) { *o = Options{} }},
		{"MaxInputs 0", func(o *Options) { o.MaxInputs = 0 }},
		{"MaxInputs over limit", func(o *Options) { o.MaxInputs = MaxInputsLimit + 1 }},
		{"TalkOnDB positive", func(o *Options) { o.TalkOnDB = 1 }},
		{"TalkOnDB below floor", func(o *Options) { o.TalkOnDB = -128 }},
		{"TalkOnDB NaN", func(o *Options) { o.TalkOnDB = math.NaN() }},
		{"TalkOffDB above TalkOnDB", func(o *Options) { o.TalkOffDB = o.TalkOnDB + 1 }},
		{"TalkOffDB NaN", func(o *Options) { o.TalkOffDB = math.NaN() }},
		{"TalkStartDelay negative", func(o *Options) { o.TalkStartDelay = -time.Millisecond }},
		{"TalkHangTime negative", func(o *Options) { o.TalkHangTime = -time.Millisecond }},
		{"LevelReleaseDB zero", func(o *Options) { o.LevelReleaseDB = 0 }},
		{"LevelReleaseDB Inf", func(o *Options) { o.LevelReleaseDB = math.Inf(1) }},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.mod(&o)
			m, err := New(o)
			if !errors.Is(err, ErrInvalidOptions) || m != nil {
				t.Fatalf("New = %v, %v; want nil, ErrInvalidOptions", m, err)
			}
		})
	}
}

func TestSetGainDB(t *testing.T) {
	m, _ := New(DefaultOptions())
	in := m.Add("a")
	for _, db := range []float64{MinGainDB, MaxGainDB, 0, -6, 6} {
		if err := in.SetGainDB(db); err != nil || in.GainDB() != db {
			t.Fatalf("SetGainDB(%v) = %v, GainDB %v", db, err, in.GainDB())
		}
	}
	if err := in.SetGainDB(3); err != nil {
		t.Fatal(err)
	}
	for _, db := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), MinGainDB - 0.01, MaxGainDB + 0.01, 1000} {
		if err := in.SetGainDB(db); !errors.Is(err, ErrGainOutOfRange) {
			t.Fatalf("SetGainDB(%v) = %v, want ErrGainOutOfRange", db, err)
		}
		if in.GainDB() != 3 {
			t.Fatalf("rejected gain changed GainDB to %v", in.GainDB())
		}
	}
	// The documented Q16 factors the table cases rely on.
	for db, q := range map[float64]int64{0: 65536, 6: 130762, -6: 32846, 20: 655360, -60: 66} {
		if got := gainQ16(db); got != q {
			t.Fatalf("gainQ16(%v) = %d, want %d", db, got, q)
		}
	}
}

func TestAddRemove(t *testing.T) {
	o := DefaultOptions()
	o.MaxInputs = 3
	m, _ := New(o)
	a, b, c := m.Add("a"), m.Add("b"), m.Add("c")
	if m.Add("d") != nil {
		t.Fatal("Add beyond MaxInputs returned an input")
	}
	if m.Len() != 3 || a.ID() != "a" || c.ID() != "c" {
		t.Fatalf("Len %d, IDs %q %q", m.Len(), a.ID(), c.ID())
	}
	fillPattern(a.Frame(), []int16{1})
	fillPattern(b.Frame(), []int16{10})
	fillPattern(c.Frame(), []int16{100})
	for _, in := range []*Input{a, b, c} {
		in.SetPresent(true)
	}
	m.Mix(t0)
	var out media.AudioFrame
	m.MixAll(&out)
	checkPattern(t, "before remove", &out, []int16{111})

	// Removing mid-tick takes the contribution out of later outputs.
	m.Remove(a)
	m.MixAll(&out)
	checkPattern(t, "after remove", &out, []int16{110})
	m.MixMinus(b, &out)
	checkPattern(t, "MixMinus(b) after remove", &out, []int16{100})
	// A removed input hears the full mix, as any non-contributor.
	m.MixMinus(a, &out)
	checkPattern(t, "MixMinus(removed)", &out, []int16{110})

	// Idempotent, and foreign or nil inputs are ignored.
	m.Remove(a)
	m.Remove(nil)
	other, _ := New(DefaultOptions())
	x := other.Add("x")
	m.Remove(x)
	if m.Len() != 2 || other.Len() != 1 {
		t.Fatalf("Len %d / %d after no-op removes", m.Len(), other.Len())
	}
	m.MixAll(&out)
	checkPattern(t, "after no-op removes", &out, []int16{110})

	// Swap-delete kept c reachable: the next tick still mixes it.
	d := m.Add("d")
	fillPattern(d.Frame(), []int16{1000})
	for _, in := range []*Input{b, c, d} {
		in.SetPresent(true)
	}
	if st := m.Mix(t0.Add(media.FrameDuration)); st.Inputs != 3 || st.Mixed != 3 {
		t.Fatalf("stats %+v", st)
	}
	m.MixMinus(c, &out)
	checkPattern(t, "MixMinus(c)", &out, []int16{1010})
	m.Remove(c)
	m.Remove(b)
	m.Remove(d)
	if m.Len() != 0 {
		t.Fatalf("Len %d", m.Len())
	}
	m.MixAll(&out)
	checkPattern(t, "empty", &out, []int16{0})
	m.Mix(t0.Add(2 * media.FrameDuration)) // an empty mixer ticks fine
}

func TestPresenceIsPerTick(t *testing.T) {
	m, _ := New(DefaultOptions())
	a, b := m.Add("a"), m.Add("b")
	fillPattern(a.Frame(), []int16{7})
	fillPattern(b.Frame(), []int16{9})
	a.SetPresent(true)
	b.SetPresent(true)
	m.Mix(t0)
	var out media.AudioFrame
	m.MixAll(&out)
	checkPattern(t, "tick 1", &out, []int16{16})

	// Nobody said SetPresent again: the stale frames must not be replayed.
	b.SetPresent(true)
	if st := m.Mix(t0.Add(media.FrameDuration)); st.Present != 1 {
		t.Fatalf("stats %+v", st)
	}
	m.MixAll(&out)
	checkPattern(t, "tick 2", &out, []int16{9})
	m.MixMinus(a, &out)
	checkPattern(t, "tick 2 minus absent a", &out, []int16{9})
}

func TestNilDestinationIsIgnored(t *testing.T) {
	m, _ := New(DefaultOptions())
	a := m.Add("a")
	a.SetPresent(true)
	m.Mix(t0)
	m.MixAll(nil)
	m.MixMinus(a, nil)
	m.MixMinus(nil, nil)
}

// TestNoOverflowAtCapacity fills the mixer with MaxInputsLimit inputs at
// the largest gain and full scale: the int32 sum must not wrap.
func TestNoOverflowAtCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 4096 inputs")
	}
	o := DefaultOptions()
	o.MaxInputs = MaxInputsLimit
	m, _ := New(o)
	ins := make([]*Input, 0, MaxInputsLimit)
	for k := range MaxInputsLimit {
		in := m.Add(media.ParticipantID(fmt.Sprint(k)))
		if err := in.SetGainDB(MaxGainDB); err != nil {
			t.Fatal(err)
		}
		fillPattern(in.Frame(), []int16{-32768, 32767})
		in.SetPresent(true)
		ins = append(ins, in)
	}
	st := m.Mix(t0)
	if want := int32(MaxInputsLimit * 327680); st.PeakSum != want {
		t.Fatalf("PeakSum %d, want %d", st.PeakSum, want)
	}
	var out media.AudioFrame
	m.MixAll(&out)
	checkPattern(t, "MixAll", &out, []int16{-32767, 32767})
	m.MixMinus(ins[0], &out)
	checkPattern(t, "MixMinus", &out, []int16{-32767, 32767})
}

// TestSuppress: a suppressed input is out of the sum for one tick but still
// measured and still talking.
func TestSuppress(t *testing.T) {
	m, err := New(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	a, b := m.Add("a"), m.Add("b")
	now := time.Unix(0, 0)
	for i := range 10 {
		for j := range a.Frame().Samples {
			a.Frame().Samples[j], b.Frame().Samples[j] = 1000, 3000
		}
		a.SetPresent(true)
		b.SetPresent(true)
		if i == 9 {
			b.Suppress()
		}
		m.Mix(now.Add(time.Duration(i) * 20 * time.Millisecond))
	}
	var out media.AudioFrame
	m.MixAll(&out)
	if out.Samples[0] != 1000 {
		t.Fatalf("mix with b suppressed = %d, want 1000", out.Samples[0])
	}
	if !b.Talking() || b.Level() < -30 {
		t.Fatalf("suppressed b: talking %v level %.1f", b.Talking(), b.Level())
	}
}

// TestGate: with the gate on, a quiet, non-talking input is left out of the
// sum (and so shares the full mix), a loud one gets in at once, and a
// talking one stays in through a quiet pause.
func TestGate(t *testing.T) {
	o := DefaultOptions()
	o.GateDB = -50
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	quiet, loud := m.Add("quiet"), m.Add("loud")
	now := time.Unix(0, 0)
	tick := func(q, l int16) {
		for i := range quiet.Frame().Samples {
			quiet.Frame().Samples[i], loud.Frame().Samples[i] = q, l
		}
		quiet.SetPresent(true)
		loud.SetPresent(true)
		m.Mix(now)
		now = now.Add(20 * time.Millisecond)
	}
	tick(30, 3000) // -61 dBov and -21 dBov
	if quiet.Contributing() || !loud.Contributing() {
		t.Fatalf("contributing: quiet %v, loud %v", quiet.Contributing(), loud.Contributing())
	}
	var out media.AudioFrame
	m.MixAll(&out)
	if out.Samples[0] != 3000 {
		t.Fatalf("mix %d, want the loud input alone", out.Samples[0])
	}
	for range 5 { // loud starts talking
		tick(30, 3000)
	}
	tick(30, 20) // a quiet pause while talking: still mixed
	if !loud.Talking() || !loud.Contributing() {
		t.Fatalf("talking input gated in a pause: talking %v contributing %v", loud.Talking(), loud.Contributing())
	}
}
