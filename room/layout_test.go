package room

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/media"
)

// refKey is the layout key as it was built before appendKey, with fmt: the
// keys name outputs, so they must not change.
func refKey(l Layout) string {
	if l.Type != LayoutCustom {
		return l.Type.String()
	}
	var b strings.Builder
	b.WriteString("custom")
	for _, r := range l.Regions {
		fmt.Fprintf(&b, ";%g,%g,%g,%g,%d,%d,%d,%s", r.X, r.Y, r.W, r.H, r.Z, r.Fit, r.Source, r.Participant)
	}
	return b.String()
}

// TestLayoutAppendKey: appendKey writes the same key as fmt did, after
// whatever dst already holds.
func TestLayoutAppendKey(t *testing.T) {
	layouts := []Layout{
		{Type: LayoutGrid},
		{Type: LayoutSpeaker},
		{Type: LayoutPIP},
		{Type: LayoutCustom, Regions: []Region{
			{X: 0, Y: 0, W: 1, H: 1, Source: SourceSpeaker},
			{X: 2.0 / 3, Y: 0.1 + 0.2, W: 1.0 / 3, H: 0.25, Z: 1, Fit: FitCover, Source: SourceParticipant, Participant: "alice, bob;é"},
			{X: 1e-7, Y: math.Copysign(0, -1), W: 0.123456789012345678, H: 1e-300, Z: -2, Source: SourceNextFree},
		}},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		layouts = append(layouts, randomLayout(rng, 8))
	}
	for _, l := range layouts {
		got := string(l.appendKey([]byte("video/VP8|")))
		if want := "video/VP8|" + refKey(l); got != want {
			t.Fatalf("key %q\nwant %q", got, want)
		}
	}
}

// refArrange is arrange as it was before it reused buffers: the
// arrangement must not change.
func refArrange(l Layout, tiles []tileRef, featured media.ParticipantID) ([]tileRef, compositor.Layout) {
	switch l.Type {
	case LayoutSpeaker, LayoutPIP:
		out := make([]tileRef, 0, len(tiles))
		fi := indexOf(tiles, featured)
		if fi < 0 && len(tiles) > 0 {
			fi = 0
		}
		if fi >= 0 {
			out = append(out, tiles[fi])
		}
		for i, t := range tiles {
			if i != fi {
				out = append(out, t)
			}
		}
		if l.Type == LayoutPIP {
			return out[:min(len(out), 2)], compositor.PIP()
		}
		return recentSpeakers(out, maxTiles), compositor.Speaker()
	case LayoutCustom:
		used := make([]bool, len(tiles))
		pick := make([]int, len(l.Regions))
		for i, r := range l.Regions {
			pick[i] = -1
			switch r.Source {
			case SourceParticipant:
				pick[i] = indexOf(tiles, r.Participant)
			case SourceSpeaker:
				if pick[i] = indexOf(tiles, featured); pick[i] < 0 && len(tiles) > 0 {
					pick[i] = 0
				}
			}
			if pick[i] >= 0 {
				used[pick[i]] = true
			}
		}
		next := 0
		for i, r := range l.Regions {
			if r.Source != SourceNextFree {
				continue
			}
			for next < len(tiles) && used[next] {
				next++
			}
			if next < len(tiles) {
				pick[i], used[next] = next, true
			}
		}
		custom := &compositor.Custom{}
		var out []tileRef
		for i, r := range l.Regions {
			if pick[i] < 0 {
				continue
			}
			out = append(out, tiles[pick[i]])
			custom.Regions = append(custom.Regions, compositor.NormRegion{X: r.X, Y: r.Y, W: r.W, H: r.H, Z: r.Z, Fit: r.Fit.compositorFit()})
		}
		return out, custom
	}
	return recentSpeakers(tiles, maxTiles), compositor.Grid()
}

// randomLayout is a valid layout of any type; custom regions show any of
// participants p0 to p<ids-1>, the speaker slot or the next free tile.
func randomLayout(rng *rand.Rand, ids int) Layout {
	l := Layout{Type: LayoutType(1 + rng.IntN(4))}
	if l.Type != LayoutCustom {
		return l
	}
	for range 1 + rng.IntN(maxTiles) {
		x, y := rng.Float64()*0.9, rng.Float64()*0.9
		r := Region{X: x, Y: y, W: (1 - x) * (0.1 + 0.9*rng.Float64()), H: (1 - y) * (0.1 + 0.9*rng.Float64()),
			Z: rng.IntN(5) - 2, Fit: Fit(rng.IntN(int(FitCover) + 1)), Source: RegionSource(rng.IntN(3))}
		if r.Source == SourceParticipant {
			r.Participant = media.ParticipantID(fmt.Sprint("p", rng.IntN(ids)))
		}
		l.Regions = append(l.Regions, r)
	}
	if err := l.Validate(); err != nil {
		panic(err)
	}
	return l
}

// TestLayoutArrange: on random views, layouts and speaker slots, arrange
// places the same tiles in the same regions as before, with one buffer
// reused throughout.
func TestLayoutArrange(t *testing.T) {
	t0 := time.Unix(1000, 0)
	rng := rand.New(rand.NewPCG(5, 6))
	const ids = 24
	var buf customBuf
	for range 5000 {
		var view []tileRef
		for i := range ids {
			if rng.IntN(3) > 0 {
				view = append(view, tileRef{p: &participant{id: media.ParticipantID(fmt.Sprint("p", i))},
					spoke: t0.Add(time.Duration(rng.IntN(4)) * time.Second)})
			}
		}
		var featured media.ParticipantID
		if s := rng.IntN(ids + 1); s < ids {
			featured = media.ParticipantID(fmt.Sprint("p", s))
		}
		l := randomLayout(rng, ids)
		wantTiles, wantLayout := refArrange(l, slices.Clone(view), featured)
		gotTiles, gotLayout := l.arrange(slices.Clone(view), featured, nil, &buf)
		if !slices.EqualFunc(gotTiles, wantTiles, func(a, b tileRef) bool { return a.p == b.p }) {
			t.Fatalf("%v, speaker %q: tiles %v, want %v", l, featured, tileIDs(gotTiles), tileIDs(wantTiles))
		}
		want, wantCustom := wantLayout.(*compositor.Custom)
		got, gotCustom := gotLayout.(*compositor.Custom)
		switch {
		case wantCustom != gotCustom:
			t.Fatalf("%v: layout %T, want %T", l, gotLayout, wantLayout)
		case wantCustom && !slices.Equal(got.Regions, want.Regions):
			t.Fatalf("%v: regions %v, want %v", l, got.Regions, want.Regions)
		case !wantCustom && gotLayout != wantLayout:
			t.Fatalf("%v: layout %T, want %T", l, gotLayout, wantLayout)
		}
	}
}

func tileIDs(tiles []tileRef) []media.ParticipantID {
	var ids []media.ParticipantID
	for _, t := range tiles {
		ids = append(ids, t.p.id)
	}
	return ids
}

// TestVideoGroupsKeepTheirCustomLayout: receivers with different custom
// layouts get outputs that each compose with their own regions, although
// every custom layout of a tick is resolved into the same buffer.
func TestVideoGroupsKeepTheirCustomLayout(t *testing.T) {
	r, _, _ := benchVideoRoom(t, []int{0, 0, 0})
	layouts := []Layout{
		{Type: LayoutCustom, Regions: []Region{{X: 0, Y: 0, W: 1, H: 1, Source: SourceParticipant, Participant: "p1"}}},
		{Type: LayoutCustom, Regions: []Region{
			{X: 0, Y: 0, W: 0.5, H: 1, Source: SourceSpeaker},
			{X: 0.5, Y: 0.25, W: 0.5, H: 0.5, Z: 1, Fit: FitCover},
		}},
		{Type: LayoutCustom, Regions: []Region{{X: 0.25, Y: 0.25, W: 0.5, H: 0.5}}},
	}
	for i, l := range layouts {
		if err := r.SetLayout(r.roster[i].id, l); err != nil {
			t.Fatal(err)
		}
	}
	vc := newVideoClock(r)
	defer vc.close()
	r.videoTick(0, time.Now(), vc)
	for i, l := range layouts {
		g := r.roster[i].vout.group
		if g == nil {
			t.Fatalf("receiver %d has no output", i)
		}
		c, ok := g.layout.(*compositor.Custom)
		if !ok || c == &vc.custom.layout {
			t.Fatalf("receiver %d's output composes with %#v, not a custom layout of its own", i, g.layout)
		}
		var want []compositor.NormRegion
		for _, reg := range l.Regions {
			want = append(want, compositor.NormRegion{X: reg.X, Y: reg.Y, W: reg.W, H: reg.H, Z: reg.Z, Fit: reg.Fit.compositorFit()})
		}
		if !slices.Equal(c.Regions, want) {
			t.Fatalf("receiver %d's output has regions %v, want %v", i, c.Regions, want)
		}
	}
}
