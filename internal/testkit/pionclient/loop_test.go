package pionclient

import (
	"errors"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"
)

func TestSharedLoop(t *testing.T) {
	o := VideoOptions{Y: 60, U: 100, V: 180, Width: 320, Height: 240, FPS: 30, Moving: true, Counter: true, ID: 2, Loop: 20}
	// Clients joining together share one encode.
	loops := make([]*cameraLoop, 4)
	var wg sync.WaitGroup
	for i := range loops {
		wg.Go(func() {
			l, err := sharedLoop(webrtc.MimeTypeVP8, o)
			if err != nil {
				t.Error(err)
			}
			loops[i] = l
		})
	}
	wg.Wait()
	for _, l := range loops[1:] {
		if l != loops[0] {
			t.Fatal("identical cameras got different loops")
		}
	}
	other := o
	other.ID = 3
	if l, err := sharedLoop(webrtc.MimeTypeVP8, other); err != nil || l == loops[0] {
		t.Fatalf("another camera's loop: %p, %v; want its own", l, err)
	}
	l := loops[0]
	if len(l.frames) != o.Loop {
		t.Fatalf("%d frames, want %d", len(l.frames), o.Loop)
	}
	// A fresh decoder takes frame 0 (a keyframe), then the loop in order,
	// then frame 0 again after the wrap; each shows its counter.
	vc, err := videoRegistry.Video(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := vc.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for i := range o.Loop + 1 {
		n := i % o.Loop
		if len(l.frames[n]) == 0 {
			continue
		}
		pic, err := dec.Decode(l.frames[n])
		if err != nil || pic == nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		if id, got, ok := ReadCounter(pic, 0, 0, pic.Width, pic.Height); !ok || id != o.ID || got != n {
			t.Errorf("frame %d: read %d, %d, %v", n, id, got, ok)
		}
	}
}

func TestVideoOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    VideoOptions
		ok   bool
	}{
		{"plain", VideoOptions{}, true},
		{"counter and loop", VideoOptions{Moving: true, Counter: true, ID: MaxCounterID, Loop: 30}, true},
		{"noise with counter", VideoOptions{Moving: true, Noise: true, Counter: true}, true},
		{"ID too big", VideoOptions{Counter: true, ID: MaxCounterID + 1}, false},
		{"negative ID", VideoOptions{Counter: true, ID: -1}, false},
		{"negative loop", VideoOptions{Loop: -1}, false},
		{"garbage counter", VideoOptions{Garbage: true, Counter: true}, false},
		{"garbage loop", VideoOptions{Garbage: true, Loop: 10}, false},
		{"noise loop", VideoOptions{Noise: true, Loop: 10}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.check()
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrBadVideoOptions) {
				t.Fatalf("check: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
