package room

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/media"
)

// TestParallelForRunsEveryJobOnce: however the jobs are split, each runs
// exactly once before run returns, and small batches stay on the caller.
func TestParallelForRunsEveryJobOnce(t *testing.T) {
	f := newParallelFor(runtime.GOMAXPROCS(0))
	if f == nil {
		t.Skip("one core: nothing to split")
	}
	defer f.close()
	for _, n := range []int{0, 1, 7, 8, 9, 37, 100} {
		runs := make([]int, n)
		var mu sync.Mutex
		parts := 0
		f.run(n, func(lo, hi int) {
			mu.Lock()
			parts++
			mu.Unlock()
			for i := lo; i < hi; i++ {
				runs[i]++ // disjoint ranges: no two parts touch an index
			}
		})
		for i, c := range runs {
			if c != 1 {
				t.Fatalf("n=%d: job %d ran %d times", n, i, c)
			}
		}
		if n < parallelFrom && parts > 1 {
			t.Errorf("n=%d split into %d parts", n, parts)
		}
		if n >= 37 && parts < 2 {
			t.Errorf("n=%d not split", n)
		}
	}
}

func steps(ts []uint32) []uint32 {
	out := make([]uint32, len(ts))
	for i, v := range ts {
		out[i] = v - ts[0]
	}
	return out
}

// TestParallelForDoesNotWaitForABusyWorker: while a worker is held up (as
// by a machine too busy to schedule it), a run does every part on the
// clock goroutine instead of waiting, and the worker, once free, claims
// none of that run's parts.
func TestParallelForDoesNotWaitForABusyWorker(t *testing.T) {
	f := newParallelFor(runtime.GOMAXPROCS(0))
	if f == nil {
		t.Skip("one core: nothing to split")
	}
	defer f.close()
	// Hold a worker (on this 2-core machine, the only one) in a part of
	// a generation no run uses.
	release := make(chan struct{})
	const held = 1 << 40
	f.claims[0].Store(2 * held)
	f.jobs <- parallelJob{work: func(int, int) { <-release }, part: 0, gen: held}
	for !f.claims[0].CompareAndSwap(2*held+1, 2*held+1) { // claimed: a worker is held
		runtime.Gosched()
	}
	runs := make([]int, 40)
	finished := make(chan struct{})
	go func() {
		f.run(len(runs), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				runs[i]++
			}
		})
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("run waited for a busy worker")
	}
	close(release)
	<-f.done // the held part's
	for i, c := range runs {
		if c != 1 {
			t.Fatalf("job %d ran %d times", i, c)
		}
	}
}

// capturePeer replays one packet and keeps what the room sends it.
type capturePeer struct {
	replayPeer
	sent [][]byte
	ts   []uint32
}

func (p *capturePeer) WriteAudio(b []byte, ts uint32, _ time.Time) error {
	p.sent = append(p.sent, bytes.Clone(b))
	p.ts = append(p.ts, ts)
	return nil
}

// TestSplitTickSendsWhatOneGoroutineSends: a 20-person room, 12 talking,
// sends every listener exactly the same packets, with the same
// timestamp steps, whether its tick's decodes and encodes run on the clock
// goroutine alone or split across cores.
func TestSplitTickSendsWhatOneGoroutineSends(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one core: nothing to split")
	}
	const n, talkers, ticks = 20, 12, 60
	rooms := [2]*Room{benchRoom(t, n, talkers), benchRoom(t, n, talkers)}
	rooms[1].audio.par = newParallelFor(runtime.GOMAXPROCS(0))
	defer rooms[1].audio.par.close()
	peers := [2][]*capturePeer{}
	for k, r := range rooms {
		for _, pt := range r.roster {
			cp := &capturePeer{replayPeer: *pt.peer.(*replayPeer)}
			pt.peer = cp
			peers[k] = append(peers[k], cp)
		}
	}
	at := time.Unix(1e9, 0)
	for i := range ticks {
		for _, r := range rooms {
			r.audio.tick(int64(i), at.Add(time.Duration(i)*media.FrameDuration))
		}
	}
	for i := range n {
		a, b := peers[0][i], peers[1][i]
		if len(a.sent) < ticks/2 {
			t.Fatalf("participant %d got %d packets in %d ticks", i, len(a.sent), ticks)
		}
		// Each stream starts at a random timestamp: compare the steps.
		if fmt.Sprint(steps(a.ts)) != fmt.Sprint(steps(b.ts)) || len(a.sent) != len(b.sent) {
			t.Fatalf("participant %d: %d packets at %v alone, %d at %v split", i, len(a.sent), steps(a.ts), len(b.sent), steps(b.ts))
		}
		for j := range a.sent {
			if !bytes.Equal(a.sent[j], b.sent[j]) {
				t.Fatalf("participant %d, packet %d differs when the tick is split", i, j)
			}
		}
	}
}
