package main

import (
	"testing"
	"time"

	"github.com/mcu-project/mcu/internal/testkit/pionclient"
)

// joinCodec joins a participant whose browser has only one video codec.
func joinCodec(t *testing.T, s *testServer, room, videoCodec string, col colour) *pionclient.Client {
	t.Helper()
	return joinReady(t, pionclient.Options{BaseURL: s.URL, Room: room, Name: col.name, ToneHz: 300, VideoCodec: videoCodec,
		Video: &pionclient.VideoOptions{Y: col.y, U: col.u, V: col.v}, RecvVideo: true})
}

// TestTranscodeVP8H264: an H.264-only participant and a VP8-only one meet:
// each sends in its codec, receives the composite in its codec, and finds
// both colours in join order; the shared canvas runs exactly two encoders.
func TestTranscodeVP8H264(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, false)
	h264 := joinCodec(t, s, "mixed", "video/H264", red)
	vp8 := joinCodec(t, s, "mixed", "video/VP8", green)
	waitCanvas(t, []*pionclient.Client{h264, vp8}, func(int) []*colour { return cols(red, green) }, 15*time.Second)
	for _, tc := range []struct {
		c    *pionclient.Client
		want string
	}{{h264, "video/H264"}, {vp8, "video/VP8"}} {
		if got := tc.c.VideoCodec(); got != tc.want {
			t.Errorf("composite arrives as %q, want %q", got, tc.want)
		}
	}
	if enc := s.metric(t, "mcu_video_encoders"); enc != 2 {
		t.Errorf("%v canvas encoders, want 2 (one per codec)", enc)
	}
}
