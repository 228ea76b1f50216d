package room

import (
	"sync"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec/vpx"
)

// countingViewer is an audio participant who receives video and counts
// the frames.
type countingViewer struct {
	*fakePeer
	mu     sync.Mutex
	frames int
}

func (*countingViewer) VideoFrames() <-chan []byte { return nil }
func (*countingViewer) RequestKeyFrame()           {}
func (*countingViewer) TakeKeyFrameRequest() bool  { return false }
func (v *countingViewer) WriteVideo([]byte, bool, uint32, time.Time) error {
	v.mu.Lock()
	v.frames++
	v.mu.Unlock()
	return nil
}

func (v *countingViewer) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.frames
}

// TestVideoClockIdlesWithoutViewers: in a room where nobody receives
// video the video clock wakes about once a second, not at the canvas
// rate; once a participant who receives video joins, it ticks at the
// canvas rate and the viewer has its first frame at once.
func TestVideoClockIdlesWithoutViewers(t *testing.T) {
	m := newTestManager(t, func(c *Config) {
		if err := vpx.Register(c.Registry); err != nil {
			t.Fatal(err)
		}
	})
	join(t, m, "a", newFakePeer(t, 440))
	m.run(t, 3*time.Second)
	if n := m.Stats().VideoTicks; n > 5 {
		t.Fatalf("%d video ticks in 3 s of an audio-only room, want about one a second", n)
	}

	v := &countingViewer{fakePeer: newFakePeer(t, 660)}
	if _, err := m.Join("a", JoinParams{Peer: v, RecvAudioCodec: "audio/opus", SendAudioCodec: "audio/opus", SendVideoCodec: "video/VP8"}); err != nil {
		t.Fatal(err)
	}
	before := m.Stats().VideoTicks
	m.run(t, 100*time.Millisecond)
	if v.count() == 0 {
		t.Error("no frame in the viewer's first 100 ms")
	}
	m.run(t, 900*time.Millisecond)
	if n := m.Stats().VideoTicks - before; n < 29 {
		t.Errorf("%d video ticks in the second after a viewer joined, want 30", n)
	}
}
