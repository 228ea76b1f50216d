package main

import (
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestParticipantReception(t *testing.T) {
	var b strings.Builder
	err := printParticipants(&b, []*mcuv1.Participant{
		{Id: "p-up", Kind: "webrtc", Video: &mcuv1.VideoReception{Rung: 1, Target: 1, Width: 640, Height: 360, Fps: 30, BitrateBps: 600_000,
			EstimateBps: 449_600, EstimateSource: "twcc", Loss: 0.025}},
		{Id: "p-paused", Kind: "webrtc", Video: &mcuv1.VideoReception{Rung: -1, Target: -1, EstimateBps: 80_000, EstimateSource: "remb", Loss: 0.3}},
		{Id: "p-new", Kind: "webrtc", Video: &mcuv1.VideoReception{Width: 1280, Height: 720, Fps: 30, BitrateBps: 1_500_000}},
		{Id: "p-phone", Kind: "rtp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	for i, want := range []string{
		"RECEIVING             ESTIMATE         LOSS",
		"640x360@30 (rung 1)   450 kb/s (twcc)  2.5%",
		"paused                80 kb/s (remb)   30.0%",
		"1280x720@30 (rung 0)  -                0.0%",
		"-                     -                -",
	} {
		if !strings.HasSuffix(strings.TrimRight(lines[i], " "), want) {
			t.Errorf("line %d %q does not end in %q", i, lines[i], want)
		}
	}
}

func TestRungChangedLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	for _, tc := range []struct {
		from, to int32
		want     string
	}{
		{0, 2, "03:04:05.000 demo p-xyz rung-changed 0 -> 2 (est 310 kb/s)"},
		{2, -1, "03:04:05.000 demo p-xyz rung-changed 2 -> paused (est 310 kb/s)"},
		{-1, 2, "03:04:05.000 demo p-xyz rung-changed paused -> 2 (est 310 kb/s)"},
	} {
		ev := &mcuv1.Event{Type: mcuv1.EventType_EVENT_TYPE_RUNG_CHANGED, Time: timestamppb.New(at), RoomId: "demo", ParticipantId: "p-xyz",
			FromRung: tc.from, Rung: tc.to, EstimateBps: 310_400}
		if got := eventLine(ev); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

func TestNodes(t *testing.T) {
	var b strings.Builder
	err := printNodes(&b, []*mcuv1.Node{
		{Id: "a", Url: "http://a:8080", Stress: 0.42, Cpu: 0.336, TickLatenessP99: durationpb.New(2 * time.Millisecond), Participants: 12, Rooms: 3, ParticipantCap: 100},
		{Id: "b", Url: "http://b:8080", Stress: 0.05, Cpu: 0.04, TickLatenessP99: durationpb.New(0), Participants: 0, Draining: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ID  STRESS  CPU  TICK P99  PARTICIPANTS  ROOMS  STATE     URL\n" +
		"a   0.42    34%  2ms       12/100        3      up        http://a:8080\n" +
		"b   0.05    4%   0s        0             0      draining  http://b:8080\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestEgressListAndEvents(t *testing.T) {
	file := &mcuv1.Egress{Id: "EG_1", RoomId: "demo", Status: mcuv1.EgressStatus_EGRESS_STATUS_ENDED, Path: "recordings/demo.webm",
		Output: &mcuv1.Egress_File{File: &mcuv1.FileOutput{Format: "webm"}}, Duration: durationpb.New(61500 * time.Millisecond), Bytes: 1234}
	stream := &mcuv1.Egress{Id: "EG_2", RoomId: "demo", Status: mcuv1.EgressStatus_EGRESS_STATUS_ACTIVE, Retries: 2, Error: "EOF",
		Output: &mcuv1.Egress_Stream{Stream: &mcuv1.StreamOutput{Url: "rtmp://host/live/****"}}, Duration: durationpb.New(time.Second)}
	var b strings.Builder
	if err := printEgress(&b, []*mcuv1.Egress{stream, file}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"EG_2  demo  active, connecting (2 retries)  rtmp    1s        0      rtmp://host/live/****  EOF",
		"EG_1  demo  ended                           webm    1m1.5s    1234   recordings/demo.webm   -",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("listing:\n%s\nhas no line %q", b.String(), want)
		}
	}
	ev := &mcuv1.Event{Type: mcuv1.EventType_EVENT_TYPE_EGRESS_UPDATED, RoomId: "demo", Time: timestamppb.Now(), Egress: stream}
	if got := eventLine(ev); !strings.HasSuffix(got, "demo - egress-updated EG_2 active, connecting (2 retries) rtmp://host/live/**** 1s 0 bytes; error: EOF") {
		t.Errorf("event line %q", got)
	}
}
