package api

import (
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/protobuf/proto"
)

func TestParticipantToProto(t *testing.T) {
	p := room.Participant{ID: "p1", Identity: "alice", Name: "Alice", Kind: "webrtc", Listener: true}
	want := &mcuv1.Participant{Id: "p1", Identity: "alice", Name: "Alice", Kind: "webrtc", Listener: true}
	if got := participantToProto(p); !proto.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}

func TestParticipantVideoToProto(t *testing.T) {
	p := room.Participant{ID: "p1", Video: &room.VideoReception{
		Rung: 1, Target: 2, Size: ladder.Rung{Width: 640, Height: 360, FPS: 30, BitrateBps: 600_000},
		EstimateBps: 450_000, EstimateSource: "twcc", Loss: 0.025, RTT: 42500 * time.Microsecond, Switches: 3, Probing: true,
	}}
	want := &mcuv1.VideoReception{Rung: 1, Target: 2, Width: 640, Height: 360, Fps: 30, BitrateBps: 600_000,
		EstimateBps: 450_000, EstimateSource: "twcc", Loss: 0.025, RttMs: 42.5, Switches: 3, Probing: true}
	if got := participantToProto(p).GetVideo(); !proto.Equal(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
	p.Video = &room.VideoReception{Rung: -1, Target: -1}
	if got := participantToProto(p).GetVideo(); got == nil || got.GetRung() != -1 || got.GetWidth() != 0 {
		t.Fatalf("paused: %v", got)
	}
	if got := participantToProto(room.Participant{ID: "audio-only"}).Video; got != nil {
		t.Fatalf("no video: %v", got)
	}
}
