package load

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunVideoRooms: two 3-person video rooms over WebRTC, the cameras
// replayed from one encoded loop and the composites counted, not decoded
// (CheapVideo), but for the watcher's: every participant gets its
// composite at 30 fps and its mix at 50 packets/s, and participant 0's
// frame counter is read off participant 1's composite, giving the video
// latency the mcu adds.
func TestRunVideoRooms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the mcu with real WebRTC and video in real time")
	}
	mcu := startMCU(t, "-canvas", "640x360@30")
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := mcu.options()
	o.Room, o.N, o.Talkers, o.Video, o.CheapVideo, o.Rooms, o.D = "v", 3, 1, "320x180", true, 2, 3*time.Second
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rooms %d, fps %.1f-%.1f, pps %.1f-%.1f, video latency median %.1f ms over %d frames, tick p99 %.2f ms",
		r.Rooms, r.VideoFPSMin, r.VideoFPSMax, r.AudioPPSMin, r.AudioPPSMax, Median(r.VideoLatencyMs), len(r.VideoLatencyMs), r.TickLateP99Ms)
	if r.Rooms != 2 || r.AudioRated != 4 {
		t.Errorf("rooms %d, %d participants rated, want 2 and 4", r.Rooms, r.AudioRated)
	}
	if r.VideoFPSMin < 25 || r.VideoFPSMax > 35 {
		t.Errorf("composite frames/s %.1f-%.1f, want about 30", r.VideoFPSMin, r.VideoFPSMax)
	}
	if r.AudioLossMax > 0.02 || r.VideoLossMax > 0.02 {
		t.Errorf("worst loss on loopback: audio %.1f %%, video %.1f %%", 100*r.AudioLossMax, 100*r.VideoLossMax)
	}
	if r.AudioPPSMin < 45 {
		t.Errorf("audio packets/s from %.1f, want about 50", r.AudioPPSMin)
	}
	// 3 s at 30 fps: most frames seen, each within the canvas period, the
	// codecs and loopback (well under half a second).
	if len(r.VideoLatencyMs) < 45 {
		t.Fatalf("participant 0's counter read in %d composites", len(r.VideoLatencyMs))
	}
	if m := Median(r.VideoLatencyMs); m <= 0 || m > 500 {
		t.Errorf("video latency median %.1f ms", m)
	}
}
