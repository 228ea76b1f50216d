package transport

import (
	"testing"
	"time"
)

// TestWriteVideoDropsCounted: frames a receiver cannot use (before its
// first keyframe, beyond a full queue, and after such a drop until the
// next keyframe) count in the engine's stats, and a full queue asks the
// encoder for a keyframe.
func TestWriteVideoDropsCounted(t *testing.T) {
	obs := testObserver()
	p := &Peer{obs: obs}
	p.video.init()
	p.video.out = newRTPOut(&recordSink{}, 1, 96, 90000, nil)
	write := func(key bool) {
		t.Helper()
		if err := p.WriteVideo([]byte{1, 2, 3}, key, 0, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name        string
		key         bool
		n           int
		wantDropped uint64
	}{
		{"a delta frame before any keyframe", false, 1, 1},
		{"a keyframe and deltas fill the queue", true, 1, 1},
		{"deltas up to the queue's size", false, outFrameQueue - 1, 1},
		{"a delta beyond a full queue", false, 1, 2},
		{"deltas until a keyframe", false, 2, 4},
	}
	for _, st := range steps {
		for range st.n {
			write(st.key)
		}
		if got := obs.stats.videoOutDropped.Load(); got != st.wantDropped {
			t.Errorf("%s: %d dropped, want %d", st.name, got, st.wantDropped)
		}
	}
	if !p.TakeKeyFrameRequest() {
		t.Error("a full queue did not ask for a keyframe")
	}
}

// TestPaddingCountedWhenSent: probe padding counts in the engine's stats
// only once it leaves, which is never before the first media packet.
func TestPaddingCountedWhenSent(t *testing.T) {
	obs := testObserver()
	p := &Peer{obs: obs}
	p.video.init()
	var sink recordSink
	p.video.out = newRTPOut(&sink, 1, 96, 90000, nil)
	p.video.padBps.Store(2 * maxPadding * 8 * int64(time.Second/padInterval)) // two full packets a tick

	now := time.Unix(1000, 0)
	p.sendPadding(now)
	if got := obs.stats.paddingBytes.Load(); got != 0 || len(sink.pkts) != 0 {
		t.Fatalf("before any media: %d bytes counted, %d packets sent", got, len(sink.pkts))
	}
	if err := p.video.out.write([]byte{1}, 0, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	p.sendPadding(now.Add(time.Second))
	if got := obs.stats.paddingBytes.Load(); got != 2*maxPadding || len(sink.pkts) != 3 {
		t.Errorf("after media: %d bytes counted, %d packets sent; want %d, 3", got, len(sink.pkts), 2*maxPadding)
	}
	sink.fail = true
	p.sendPadding(now.Add(2 * time.Second))
	if got := obs.stats.paddingBytes.Load(); got != 2*maxPadding {
		t.Errorf("failed padding counted: %d bytes", got)
	}
}
