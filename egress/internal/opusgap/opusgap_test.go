package opusgap

import (
	"testing"
	"time"
)

func TestFiller(t *testing.T) {
	type out struct {
		ts time.Duration
		b  []byte
	}
	ms := time.Millisecond
	for _, c := range []struct {
		name string
		lead time.Duration
		in   []time.Duration
		want []time.Duration // the packets out, fillers included
	}{
		{"no gap", 0, []time.Duration{100 * ms, 120 * ms, 140 * ms}, []time.Duration{100 * ms, 120 * ms, 140 * ms}},
		{"a 60 ms gap", 0, []time.Duration{100 * ms, 180 * ms}, []time.Duration{100 * ms, 120 * ms, 140 * ms, 160 * ms, 180 * ms}},
		{"jitter under half a frame", 0, []time.Duration{100 * ms, 129 * ms}, []time.Duration{100 * ms, 129 * ms}},
		{"a lead", 40 * ms, []time.Duration{100 * ms}, []time.Duration{60 * ms, 80 * ms, 100 * ms}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f Filler
			if c.lead > 0 {
				f.Start(c.in[0], c.lead)
			}
			var got []out
			for _, ts := range c.in {
				if err := f.Write(ts, []byte{0xFB, 1, 2}, func(ts time.Duration, b []byte) error {
					got = append(got, out{ts, b})
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want packets at %v", got, c.want)
			}
			for i, g := range got {
				real := len(g.b) == 3
				if g.ts != c.want[i] || real != containsTS(c.in, g.ts) {
					t.Fatalf("packet %d: %v, want at %v", i, g, c.want[i])
				}
				if !real && (len(g.b) != 1 || g.b[0] != 0xF8) {
					t.Fatalf("filler %x, want the TOC with code 0", g.b)
				}
			}
		})
	}
	var f Filler
	if err := f.Write(0, nil, func(time.Duration, []byte) error { t.Fatal("an empty packet went out"); return nil }); err != nil {
		t.Fatal(err)
	}
}

func containsTS(ts []time.Duration, t time.Duration) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}
