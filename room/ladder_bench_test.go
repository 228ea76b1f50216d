package room

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
)

// sinkPeer receives a view and discards it, counting bytes.
type sinkPeer struct{ bytes int }

func (*sinkPeer) VideoFrames() <-chan []byte { return nil }
func (*sinkPeer) RequestKeyFrame()           {}
func (s *sinkPeer) WriteVideo(f []byte, _ bool, _ uint32, _ time.Time) error {
	s.bytes += len(f)
	return nil
}
func (*sinkPeer) TakeKeyFrameRequest() bool { return false }

// BenchmarkVideoLadder measures the video clock of a 4-person room on the
// default 1280×720@30 canvas and ladder with its receivers spread over one,
// two or three rungs: the extra cost of each rung in use is one scale and
// one encode of the shared canvas. The tiles are 640×360 camera pictures
// that change every tick, so every encoder works as on live cameras.
// ns/op is one canvas tick; ×30 is CPU per media second.
func BenchmarkVideoLadder(b *testing.B) {
	for _, spread := range [][]int{{0, 0, 0, 0}, {0, 0, 1, 1}, {0, 0, 1, 2}} {
		rungs := map[int]bool{}
		for _, r := range spread {
			rungs[r] = true
		}
		b.Run(fmt.Sprintf("rungs=%d", len(rungs)), func(b *testing.B) {
			r, peers, cams := benchVideoRoom(b, spread)
			runVideoTicks(b, r, cams)
			var sent int
			for _, p := range peers {
				sent += p.bytes
			}
			b.ReportMetric(float64(sent)*8*30/float64(b.N)/1000, "kb/s-sent")
			if got := r.rungEncoders[0].Load() + r.rungEncoders[1].Load() + r.rungEncoders[2].Load(); int(got) != len(rungs) {
				b.Fatalf("%d encoders for %d rungs in use", got, len(rungs))
			}
		})
	}
}

// benchVideoRoom builds a room without clocks whose members send camera
// pictures and receive on the given rungs.
func benchVideoRoom(b testing.TB, spread []int) (*Room, []*sinkPeer, []*benchCamera) {
	b.Helper()
	r, err := newRoom("bench", DefaultOptions(), benchManager(b, vpx.Register))
	if err != nil {
		b.Fatal(err)
	}
	var peers []*sinkPeer
	var cams []*benchCamera
	for i, rung := range spread {
		sp := &sinkPeer{}
		cam := newBenchCamera(b, i)
		peers, cams = append(peers, sp), append(cams, cam)
		p := &participant{id: media.ParticipantID(fmt.Sprint("p", i)), name: fmt.Sprint("p", i), sendVideoCodec: "video/VP8", recvVideoCodec: "video/VP8",
			vin: cam.in, vout: &videoOut{peer: sp, rung: rung, target: rung}}
		r.roster = append(r.roster, p)
	}
	return r, peers, cams
}

// benchFrames is how many different pictures each camera cycles through.
const benchFrames = 30

// benchCamera is a participant's decoded-picture slot whose content changes
// every tick: a moving box over noise, as a live camera's.
type benchCamera struct {
	in   *videoIn
	pics []media.VideoFrame
}

func newBenchCamera(b testing.TB, seed int) *benchCamera {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	cam := &benchCamera{}
	for n := range benchFrames {
		pic, err := media.NewVideoFrame(640, 360)
		if err != nil {
			b.Fatal(err)
		}
		for i := range pic.Y {
			pic.Y[i] = byte(60 + seed*40 + int(rng.Uint32()&15))
		}
		for y := 90; y < 180; y++ {
			for x := n * 16; x < n*16+90 && x < 640; x++ {
				pic.Y[y*pic.StrideY+x] = 235
			}
		}
		for i := range pic.U {
			pic.U[i], pic.V[i] = byte(100+seed*20), byte(140-seed*20)
		}
		cam.pics = append(cam.pics, *pic)
	}
	cam.in = newVideoIn()
	cam.in.have = true
	return cam
}

// show makes picture n the latest, as the decoder goroutine would.
func (c *benchCamera) show(n int) {
	c.in.latest, c.in.at, c.in.version = c.pics[n%benchFrames], time.Now(), pictureVersions.Add(1)
}

// BenchmarkVideoLayouts measures a steady-state tick of a 4-person room
// (everyone on the top rung, the speaker slot on the third to join) under
// each kind of layout, so that what a layout costs per tick beyond the
// shared compose and encode shows in allocs/op.
func BenchmarkVideoLayouts(b *testing.B) {
	for _, l := range []Layout{
		{Type: LayoutGrid},
		{Type: LayoutSpeaker},
		{Type: LayoutPIP},
		{Type: LayoutCustom, Regions: []Region{
			{X: 0, Y: 0, W: 0.6, H: 1, Source: SourceSpeaker},
			{X: 0.6, Y: 0.25, W: 0.4, H: 0.5, Z: 1, Fit: FitCover},
		}},
	} {
		b.Run(l.Type.String(), func(b *testing.B) {
			r, _, cams := benchVideoRoom(b, []int{0, 0, 0, 0})
			if err := r.SetLayout("", l); err != nil {
				b.Fatal(err)
			}
			r.speaker = r.roster[2].id
			runVideoTicks(b, r, cams)
		})
	}
	// The room's own switch to the presentation layout while participant
	// 1 shares (its camera's pictures standing in for the screen).
	b.Run("shared", func(b *testing.B) {
		r, _, cams := benchVideoRoom(b, []int{0, 0, 0, 0})
		share := newBenchCamera(b, 9)
		r.roster[1].pres = share.in
		share.in.since = time.Now()
		cams = append(cams, share)
		runVideoTicks(b, r, cams)
		if sharing, _ := r.Presentations(); len(sharing) != 1 {
			b.Fatalf("shares %v", sharing)
		}
	})
}

// runVideoTicks times b.N video ticks of r at 30 fps, each camera showing
// its next picture first; the timer is stopped when it returns.
func runVideoTicks(b *testing.B, r *Room, cams []*benchCamera) {
	vc := newVideoClock(r)
	defer vc.close()
	defer b.StopTimer() // before closing the encoders
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for n := range b.N {
		for _, c := range cams {
			c.show(n)
		}
		r.videoTick(int64(n), start.Add(time.Duration(n)*time.Second/30), vc)
	}
}
