package room

import (
	"runtime"
	"testing"
	"time"
)

// TestViewsComposedInParallel: with personal views (exclude_self) split
// across the video workers, every receiver still gets its own view — the
// three others, in join order — tick after tick, and the race detector
// sees the shared pictures only read.
func TestViewsComposedInParallel(t *testing.T) {
	s := newStaticRoom(t, 4, 4)
	s.r.opts.ExcludeSelf = true
	s.vc.par, s.vc.slots = newVideoWorkers(runtime.GOMAXPROCS(0)), newGoSlots(runtime.GOMAXPROCS(0))
	if s.vc.par == nil {
		t.Skip("one core: no video workers")
	}
	for n := range 10 {
		for i := range s.cams {
			s.show(i, n)
		}
		s.tick()
	}
	if len(s.vc.groups) != 4 {
		t.Fatalf("%d views, want 4 personal ones", len(s.vc.groups))
	}
	// Camera i's picture has chroma U = 100+20i; cells in the 2×2 grid.
	centres := [][2]int{{320, 180}, {960, 180}, {320, 540}}
	for i, p := range s.peers {
		if p.frames != 10 {
			t.Errorf("receiver %d got %d frames of 10", i, p.frames)
		}
		var others []int
		for j := range s.cams {
			if j != i {
				others = append(others, j)
			}
		}
		for c, j := range others {
			x, y := centres[c][0], centres[c][1]
			if u := int(p.pic.U[(y/2)*p.pic.StrideU+x/2]); u < 100+20*j-6 || u > 100+20*j+6 {
				t.Errorf("receiver %d, cell %d: chroma U %d, want camera %d's %d", i, c, u, j, 100+20*j)
			}
		}
	}
}

// BenchmarkVideoViews times a canvas tick of a 4-person room with personal
// views (exclude_self: four composes and four 720p encodes) on the clock
// goroutine alone and split across the video workers: ns/op is wall time
// per tick (the frame budget at 30 fps is 33 ms), so the split only shows
// where a core is free.
//
//	go test -run '^$' -bench VideoViews -benchtime 60x -count 3 ./room/
func BenchmarkVideoViews(b *testing.B) {
	for _, split := range []bool{false, true} {
		name := "one-goroutine"
		if split {
			name = "workers"
		}
		b.Run(name, func(b *testing.B) {
			r, _, cams := benchVideoRoom(b, []int{0, 0, 0, 0})
			r.opts.ExcludeSelf = true
			vc := newVideoClock(r)
			if split {
				if vc.par, vc.slots = newVideoWorkers(runtime.GOMAXPROCS(0)), newGoSlots(runtime.GOMAXPROCS(0)); vc.par == nil {
					b.Skip("one core")
				}
			}
			defer vc.close()
			defer b.StopTimer()
			start := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				for _, c := range cams {
					c.show(n)
				}
				r.videoTick(int64(n), start.Add(time.Duration(n)*time.Second/30), vc)
			}
		})
	}
}
