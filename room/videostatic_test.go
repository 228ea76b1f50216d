package room

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/internal/testkit/fakeclock"
	"github.com/mcu-project/mcu/media"
)

// viewerPeer decodes the view it receives, as a browser would, and asks
// for a keyframe when told to.
type viewerPeer struct {
	t          testing.TB
	dec        *vpx.Decoder
	pic        *media.VideoFrame
	frames     int
	keyframes  int
	lastWasKey bool
	pli        bool
}

func (*viewerPeer) VideoFrames() <-chan []byte { return nil }
func (*viewerPeer) RequestKeyFrame()           {}
func (v *viewerPeer) WriteVideo(f []byte, key bool, _ uint32, _ time.Time) error {
	v.frames++
	v.lastWasKey = key
	if key {
		v.keyframes++
	}
	pic, err := v.dec.Decode(f)
	if err != nil {
		v.t.Errorf("receiver cannot decode frame %d: %v", v.frames, err)
		return nil
	}
	if pic != nil {
		v.pic = pic
	}
	return nil
}
func (v *viewerPeer) TakeKeyFrameRequest() bool {
	pli := v.pli
	v.pli = false
	return pli
}

// staticRoom is a room without clock goroutines on a fake clock, whose
// members receive the 1280×720 canvas on its top rung: cams of them with
// cameras (benchCamera pictures), the rest with theirs off.
type staticRoom struct {
	r      *Room
	clock  *fakeclock.Clock
	vc     *videoClock
	peers  []*viewerPeer
	cams   []*benchCamera
	n      int64
	frames int
}

func newStaticRoom(t *testing.T, members, cams int) *staticRoom {
	t.Helper()
	var reg codec.Registry
	if err := vpx.Register(&reg); err != nil {
		t.Fatal(err)
	}
	clock := fakeclock.New(time.Unix(1_000_000, 0))
	m, err := NewManager(Config{Registry: &reg, Defaults: DefaultOptions(), Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRoom("static", DefaultOptions(), m)
	if err != nil {
		t.Fatal(err)
	}
	s := &staticRoom{r: r, clock: clock, vc: newVideoClock(r)}
	t.Cleanup(s.vc.close)
	for i := range members {
		dec, err := vpx.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dec.Close() })
		vp := &viewerPeer{t: t, dec: dec}
		p := &participant{id: media.ParticipantID(fmt.Sprint("p", i)), name: fmt.Sprint("P", i), sendVideoCodec: "video/VP8", recvVideoCodec: "video/VP8",
			vout: &videoOut{peer: vp}}
		if i < cams {
			cam := newBenchCamera(t, i)
			s.cams = append(s.cams, cam)
			p.vin = cam.in
		}
		s.peers = append(s.peers, vp)
		r.roster = append(r.roster, p)
	}
	return s
}

// show makes camera i show picture n, decoded now.
func (s *staticRoom) show(i, n int) {
	s.cams[i].show(n)
	s.cams[i].in.at = s.clock.Now()
}

// tick runs one canvas tick and returns how many frames receiver 0 got.
func (s *staticRoom) tick() int {
	before := s.peers[0].frames
	s.r.videoTick(s.n, s.clock.Now(), s.vc)
	s.n++
	s.clock.Advance(time.Second / 30)
	return s.peers[0].frames - before
}

// lumaAt is the mean luma of the receiver's decoded picture over the 8×8
// block at (x, y).
func lumaAt(f *media.VideoFrame, x, y int) int {
	sum := 0
	for j := y; j < y+8; j++ {
		for i := x; i < x+8; i++ {
			sum += int(f.Y[j*f.StrideY+i])
		}
	}
	return sum / 64
}

// TestChangedCellReachesReceiver: on a canvas whose cameras stopped
// changing, frames go out only at the keep-alive rate; the moment one
// camera shows a new picture, a frame carrying it reaches every receiver
// (the box it shows moved within its cell), and the other cells stay as
// they were.
func TestChangedCellReachesReceiver(t *testing.T) {
	s := newStaticRoom(t, 4, 4)
	for i := range s.cams {
		s.show(i, 0) // the box at the left of each 640×360 picture
	}
	if s.tick() != 1 || !s.peers[0].lastWasKey {
		t.Fatal("the first frame of a canvas was not sent as a keyframe")
	}
	// Frozen cameras (the same picture) for 1.5 s: a keep-alive only.
	sent := 0
	for range 45 {
		sent += s.tick()
	}
	if sent < 1 || sent > 2 {
		t.Fatalf("%d frames in 1.5 s of an unchanged canvas, want 1-2 keep-alives", sent)
	}
	if got := s.r.stats.videoUnchanged.Load(); got < 40 {
		t.Fatalf("%d frames counted unchanged", got)
	}
	// Camera 1 (the top-right cell, x 640-1280, y 0-360) moves its box
	// from x 0-90 to x 320-410 of its picture: canvas x 640-730 → 960-1050.
	pic := s.peers[0].pic
	oldBox, newBox, other := lumaAt(pic, 680, 130), lumaAt(pic, 1000, 130), lumaAt(pic, 40, 130)
	if oldBox < 200 || newBox > 180 || other < 200 {
		t.Fatalf("before: luma at the old box %d, new place %d, cell 0's box %d", oldBox, newBox, other)
	}
	s.show(1, 20)
	if s.tick() != 1 {
		t.Fatal("a changed cell did not make a frame")
	}
	for i, p := range s.peers {
		pic := p.pic
		if old, now, other := lumaAt(pic, 680, 130), lumaAt(pic, 1000, 130), lumaAt(pic, 40, 130); old > 180 || now < 200 || other < 200 {
			t.Errorf("receiver %d after the change: luma at the old box %d (want noise), new box %d (want ~235), cell 0's box %d (want ~235)", i, old, now, other)
		}
	}
	if s.tick() != 0 {
		t.Fatal("a frame was sent for a canvas that did not change again")
	}
}

// TestStaticCanvasAnswersPLI: a room whose cameras are all off sends its
// viewers a keep-alive a second, yet a receiver's PLI gets a keyframe in
// the very next frame, and a new picture is on its way at once.
func TestStaticCanvasAnswersPLI(t *testing.T) {
	s := newStaticRoom(t, 3, 0)
	for range 3 {
		s.tick()
	}
	if s.peers[0].keyframes != 1 {
		t.Fatalf("%d keyframes at the start", s.peers[0].keyframes)
	}
	sent := 0
	for range 90 {
		sent += s.tick()
	}
	if sent < 2 || sent > 4 {
		t.Fatalf("%d frames in 3 s of placeholders, want ~3 keep-alives", sent)
	}
	s.peers[0].pli = true
	if s.tick() != 1 || !s.peers[0].lastWasKey {
		t.Fatalf("the PLI on a static canvas was not answered by a keyframe in the next frame (key: %v)", s.peers[0].lastWasKey)
	}
	if s.peers[0].keyframes != 2 {
		t.Fatalf("%d keyframes", s.peers[0].keyframes)
	}
	// Placeholders show grey with names; the decoded picture is whole.
	if y := lumaAt(s.peers[0].pic, 8, 8); y < 10 || y > 80 {
		t.Fatalf("decoded placeholder canvas luma %d", y)
	}
}

// BenchmarkVideoStatic compares the video clock of a 4-person room whose
// cameras move (a new picture every tick) with the same room whose
// cameras are frozen, and with one whose cameras are off (placeholders):
// ns/op is one canvas tick (×30 per media second). The target is ≤ 10 %
// of the moving canvas.
//
//	go test -run '^$' -bench VideoStatic -benchtime 150x ./room/
func BenchmarkVideoStatic(b *testing.B) {
	for _, mode := range []string{"moving", "frozen", "cameras-off"} {
		b.Run(mode, func(b *testing.B) {
			cams := 4
			if mode == "cameras-off" {
				cams = 0
			}
			r, _, cs := benchVideoRoom(b, []int{0, 0, 0, 0})
			if cams == 0 {
				for _, p := range r.roster {
					p.vin = nil
				}
			}
			vc := newVideoClock(r)
			defer vc.close()
			defer b.StopTimer()
			start := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				if mode == "moving" || n == 0 {
					for _, c := range cs {
						c.show(n)
					}
				}
				for _, c := range cs {
					c.in.at = time.Now() // never frozen long enough for the placeholder
				}
				r.videoTick(int64(n), start.Add(time.Duration(n)*time.Second/30), vc)
			}
		})
	}
}
