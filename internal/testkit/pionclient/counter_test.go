package pionclient

import (
	"fmt"
	"testing"

	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/media"
	"github.com/pion/webrtc/v4"
)

func camera(t *testing.T, w, h, id, n int) *media.VideoFrame {
	t.Helper()
	pic, err := media.NewVideoFrame(w, h)
	if err != nil {
		t.Fatal(err)
	}
	PaintCamera(pic, VideoOptions{Y: 80, U: 90, V: 200, Moving: true, Counter: true, ID: id}, n)
	return pic
}

func TestCounterReadsBack(t *testing.T) {
	for _, size := range [][2]int{{640, 360}, {320, 240}, {1280, 720}, {100, 64}} {
		for _, id := range []int{0, 5, MaxCounterID} {
			// n = 0 puts the box over the band's corner; 1000 wraps.
			for _, n := range []int{0, 1, 170, 341, CounterPeriod - 1, 1000} {
				t.Run(fmt.Sprintf("%dx%d/id%d/n%d", size[0], size[1], id, n), func(t *testing.T) {
					pic := camera(t, size[0], size[1], id, n)
					gotID, gotN, ok := ReadCounter(pic, 0, 0, pic.Width, pic.Height)
					if !ok || gotID != id || gotN != n%CounterPeriod {
						t.Fatalf("read %d, %d, %v; want %d, %d", gotID, gotN, ok, id, n%CounterPeriod)
					}
				})
			}
		}
	}
}

// TestCounterInComposite reads every camera of the MCU's grid at the
// scales its layouts use: 2× (one tile), 1:1 (2×2), 2/3 (3×2, 3×3), 1/2
// (4×4), each tile next to others.
func TestCounterInComposite(t *testing.T) {
	comp, err := compositor.New(compositor.DefaultWidth, compositor.DefaultHeight)
	if err != nil {
		t.Fatal(err)
	}
	for _, tiles := range []int{1, 4, 6, 9, 16} {
		t.Run(fmt.Sprint(tiles), func(t *testing.T) {
			ts := make([]compositor.Tile, tiles)
			for i := range ts {
				ts[i].Frame = camera(t, 640, 360, i%8, 37*i+5)
			}
			canvas, err := comp.Compose(compositor.Grid(), ts)
			if err != nil {
				t.Fatal(err)
			}
			regions, err := compositor.Regions(compositor.Grid(), canvas.Width, canvas.Height, tiles)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range regions {
				dst, _ := compositor.ContentRect(r.Rect, 640, 360, r.Fit)
				id, n, ok := ReadCounter(canvas, dst.X, dst.Y, dst.W, dst.H)
				if want := (37*i + 5) % CounterPeriod; !ok || id != i%8 || n != want {
					t.Errorf("tile %d at %v: read %d, %d, %v; want %d, %d", i, dst, id, n, ok, i%8, want)
				}
			}
		})
	}
}

// TestCounterThroughCodec reads the counter after an encode and decode at
// the camera's own bitrate.
func TestCounterThroughCodec(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
		t.Run(mime, func(t *testing.T) {
			vc, err := videoRegistry.Video(mime)
			if err != nil {
				t.Fatal(err)
			}
			enc, err := vc.NewEncoder(codec.VideoEncoderParams{Width: 640, Height: 360, FPS: 30, BitrateBps: cameraBitrate})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			dec, err := vc.NewDecoder()
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			for n := range 15 {
				data, _, err := enc.Encode(camera(t, 640, 360, 6, n), nil)
				if err != nil || len(data) == 0 {
					t.Fatalf("frame %d: %d bytes, %v", n, len(data), err)
				}
				pic, err := dec.Decode(data)
				if err != nil || pic == nil {
					t.Fatalf("frame %d: decode: %v", n, err)
				}
				if id, got, ok := ReadCounter(pic, 0, 0, pic.Width, pic.Height); !ok || id != 6 || got != n {
					t.Errorf("frame %d: read %d, %d, %v", n, id, got, ok)
				}
			}
		})
	}
}

func TestReadCounterRejects(t *testing.T) {
	plain := func(y byte) *media.VideoFrame {
		pic, _ := media.NewVideoFrame(640, 360)
		pic.Fill(y, 128, 128)
		return pic
	}
	noCounter, _ := media.NewVideoFrame(640, 360)
	PaintCamera(noCounter, VideoOptions{Y: 80, U: 90, V: 200, Moving: true}, 0)
	good := camera(t, 640, 360, 3, 99)
	for _, tc := range []struct {
		name       string
		f          *media.VideoFrame
		x, y, w, h int
	}{
		{"black", plain(16), 0, 0, 640, 360},
		{"white", plain(235), 0, 0, 640, 360},
		{"grey", plain(128), 0, 0, 640, 360},
		{"camera without counter", noCounter, 0, 0, 640, 360},
		{"nil frame", nil, 0, 0, 640, 360},
		{"past the right edge", good, 1, 0, 640, 360},
		{"above the top", good, 0, -1, 640, 360},
		{"empty", good, 0, 0, 0, 0},
		{"cells under 4 pixels", good, 0, 0, 50, 360},
		{"off the band", good, 0, 100, 640, 260},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if id, n, ok := ReadCounter(tc.f, tc.x, tc.y, tc.w, tc.h); ok {
				t.Fatalf("read %d, %d from no counter", id, n)
			}
		})
	}
}
