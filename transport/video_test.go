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

// TestPaddingWholePackets: with no video flowing, a probe smaller than a
// padding packet per tick sends whole packets less often, not a sliver of
// padding under full headers every tick; on average its padding is its
// rate. With video flowing, a tick's padding goes with the tick.
func TestPaddingWholePackets(t *testing.T) {
	p := &Peer{obs: testObserver()}
	p.video.init()
	var sink recordSink
	p.video.out = newRTPOut(&sink, 1, 96, 90000, nil)
	if err := p.video.out.write([]byte{1}, 0, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	const bps = 8_000 // 20 bytes a tick
	p.video.padBps.Store(bps)
	now := time.Unix(1000, 0)
	ticks := 500 // 10 s
	for i := range ticks {
		p.sendPadding(now.Add(time.Duration(i) * padInterval))
	}
	pads := sink.pkts[1:]
	padded := 0
	for _, pk := range pads {
		if int(pk.Header.PaddingSize) != maxPadding {
			t.Fatalf("a padding packet of %d bytes, want %d (no estimate: full packets)", pk.Header.PaddingSize, maxPadding)
		}
		padded += int(pk.Header.PaddingSize)
	}
	if got := float64(padded) * 8 / (float64(ticks) * padInterval.Seconds()); got < 0.9*bps || got > bps {
		t.Errorf("%d padding packets, %.0f b/s of padding; want about %d", len(pads), got, bps)
	}

	// While video flows, each tick's padding leaves with the tick.
	sink.pkts = sink.pkts[:0]
	at := now.Add(time.Duration(ticks) * padInterval)
	p.video.lastMedia = at
	p.sendPadding(at)
	if len(sink.pkts) != 1 || sink.pkts[0].Header.PaddingSize != bps/8/50 {
		t.Errorf("with video flowing: %d packets, want one of a tick's %d bytes", len(sink.pkts), bps/8/50)
	}
}

// TestPadPacketSize: on a narrow link a padding packet holds the link no
// longer than one pacing interval; on a wide one it is as large as RTP
// allows.
func TestPadPacketSize(t *testing.T) {
	for _, c := range []struct{ est, want int }{
		{0, maxPadding},
		{2_000_000, maxPadding},
		{60_000, 60_000/8/50 - padOverhead},
		{10_000, minPadding},
	} {
		if got := padPacketSize(c.est); got != c.want {
			t.Errorf("padPacketSize(%d) = %d, want %d", c.est, got, c.want)
		}
	}
	if d := time.Duration(float64(padPacketSize(60_000)+padOverhead) * 8 / 60_000 * float64(time.Second)); d > padInterval {
		t.Errorf("a padding packet holds a 60 kb/s link for %v, want at most %v", d, padInterval)
	}
}
