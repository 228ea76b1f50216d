package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/compositor"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/media"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
)

// dial connects a gRPC client to the test server.
func dial(t *testing.T, s *testServer) mcuv1.MCUClient {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return mcuv1.NewMCUClient(conn)
}

func code(err error) codes.Code { return status.Code(err) }

// TestGRPCRoomsAndErrors: room CRUD, health and reflection work; bad
// requests get NOT_FOUND / INVALID_ARGUMENT / ALREADY_EXISTS; with a token
// configured, calls without it are UNAUTHENTICATED.
func TestGRPCRoomsAndErrors(t *testing.T) {
	s := startServer(t, allowLoopbackLegs, func(c *Config) { c.GRPCToken = "s3cret" })
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ListRooms(ctx, &mcuv1.ListRoomsRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("no token: %v", err)
	}
	bad := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer wrong")
	if _, err := c.ListRooms(bad, &mcuv1.ListRoomsRequest{}); code(err) != codes.Unauthenticated {
		t.Fatalf("wrong token: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer s3cret")

	r, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "demo", Options: &mcuv1.RoomOptions{Width: 640, Height: 360, Fps: 15, VideoCodecs: []string{"H264"}, MaxSpeakers: 3, AudioComplexity: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.GetOptions(); o.GetWidth() != 640 || o.GetFps() != 15 || !slices.Equal(o.GetVideoCodecs(), []string{"H264"}) || o.GetMaxSpeakers() != 3 || o.GetAudioComplexity() != 5 || r.GetLayout().GetType() != mcuv1.LayoutType_LAYOUT_TYPE_GRID {
		t.Fatalf("created %v", r)
	}
	yes := true
	if r, err = c.UpdateRoom(ctx, &mcuv1.UpdateRoomRequest{Id: "demo", ExcludeSelf: &yes}); err != nil || !r.GetOptions().GetExcludeSelf() {
		t.Fatalf("update: %v %v", r, err)
	}
	list, err := c.ListRooms(ctx, &mcuv1.ListRoomsRequest{})
	if err != nil || len(list.GetRooms()) != 1 || list.GetRooms()[0].GetId() != "demo" {
		t.Fatalf("list: %v %v", list, err)
	}
	if got := s.metric(t, "mcu_rooms"); got != 1 {
		t.Fatalf("rooms metric %v", got)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"create existing", func() error { _, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "demo"}); return err }, codes.AlreadyExists},
		{"zero canvas", func() error {
			_, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "x", Options: &mcuv1.RoomOptions{Width: 0, Height: 2}})
			return err
		}, codes.InvalidArgument},
		{"odd canvas", func() error {
			_, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "x", Options: &mcuv1.RoomOptions{Width: 641, Height: 360}})
			return err
		}, codes.InvalidArgument},
		{"audio complexity above 10", func() error {
			_, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "x", Options: &mcuv1.RoomOptions{Width: 640, Height: 360, Fps: 15, AudioComplexity: 11}})
			return err
		}, codes.InvalidArgument},
		{"unknown codec", func() error {
			_, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "x", Options: &mcuv1.RoomOptions{VideoCodecs: []string{"AV1"}}})
			return err
		}, codes.InvalidArgument},
		{"empty room id", func() error { _, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{}); return err }, codes.InvalidArgument},
		{"get unknown room", func() error { _, err := c.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "nope"}); return err }, codes.NotFound},
		{"delete unknown room", func() error { _, err := c.DeleteRoom(ctx, &mcuv1.DeleteRoomRequest{Id: "nope"}); return err }, codes.NotFound},
		{"update unknown participant", func() error {
			_, err := c.UpdateParticipant(ctx, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "nobody", MuteAudio: &yes})
			return err
		}, codes.NotFound},
		{"region outside [0,1]", func() error {
			_, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "demo", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM,
				Regions: []*mcuv1.Region{{X: 0.5, Y: 0, W: 0.8, H: 1}}}})
			return err
		}, codes.InvalidArgument},
		{"custom without regions", func() error {
			_, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "demo", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM}})
			return err
		}, codes.InvalidArgument},
		{"room layout without type", func() error {
			_, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "demo", Layout: &mcuv1.Layout{}})
			return err
		}, codes.InvalidArgument},
		{"override for unknown viewer", func() error {
			_, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "demo", ViewerId: "nobody", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER}})
			return err
		}, codes.NotFound},
		{"leg with bad address", func() error {
			_, err := c.CreateRTPLeg(ctx, &mcuv1.CreateRTPLegRequest{RoomId: "demo", Remote: "nowhere", Codec: "PCMU"})
			return err
		}, codes.InvalidArgument},
		{"leg to unknown room", func() error {
			_, err := c.CreateRTPLeg(ctx, &mcuv1.CreateRTPLegRequest{RoomId: "nope", Remote: "127.0.0.1:4000", Codec: "PCMU"})
			return err
		}, codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); code(err) != tc.want {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}

	leg, err := c.CreateRTPLeg(ctx, &mcuv1.CreateRTPLegRequest{RoomId: "demo", Remote: "127.0.0.1:9", Codec: "PCMA", Name: "desk phone"})
	if err != nil || leg.GetId() == "" || leg.GetLocal() == "" {
		t.Fatalf("leg: %v %v", leg, err)
	}
	ps, err := c.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "demo"})
	if err != nil || len(ps.GetParticipants()) != 1 || ps.GetParticipants()[0].GetKind() != "rtp" || ps.GetParticipants()[0].GetAudioCodec() != "audio/PCMA" {
		t.Fatalf("participants: %v %v", ps, err)
	}
	if _, err := c.DeleteRTPLeg(ctx, &mcuv1.DeleteRTPLegRequest{RoomId: "demo", Id: leg.GetId()}); err != nil {
		t.Fatal(err)
	}

	conn, _ := grpc.NewClient(s.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "mcu.v1.MCU"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var services []string
	for _, sv := range resp.GetListServicesResponse().GetService() {
		services = append(services, sv.GetName())
	}
	if !slices.Contains(services, "mcu.v1.MCU") {
		t.Fatalf("reflection lists %v", services)
	}
	_ = rs.CloseSend()

	if _, err := c.DeleteRoom(ctx, &mcuv1.DeleteRoomRequest{Id: "demo"}); err != nil {
		t.Fatal(err)
	}
	s.waitMetric(t, "mcu_rooms", 0, time.Second)
}

// TestGRPCMuteAndEvents: events for a scripted join / talk / mute / leave
// arrive in order, and muting a participant over gRPC takes its tone out of
// the others' mix.
func TestGRPCMuteAndEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC test")
	}
	s := startServer(t)
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := c.StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "talk"})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan *mcuv1.Event, 100)
	go func() {
		defer close(events)
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	time.Sleep(100 * time.Millisecond) // the subscription is in place

	const amp = 8192
	listener, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "talk", Name: "listener"})
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	talker, err := pionclient.Join(ctx, pionclient.Options{BaseURL: s.URL, Room: "talk", Name: "talker", ToneHz: 600, ToneAmp: amp})
	if err != nil {
		t.Fatal(err)
	}
	defer talker.Close()
	if err := waitHearing(ctx, listener, 600, amp); err != nil {
		t.Fatal(err)
	}
	// Bitrate is measured once a second: wait for a measurement.
	var tp *mcuv1.Participant
	for {
		ps, err := c.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "talk"})
		if err != nil || len(ps.GetParticipants()) != 2 {
			t.Fatalf("participants %v %v", ps, err)
		}
		if tp = ps.GetParticipants()[1]; tp.GetBitrateBps() > 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if tp.GetName() != "talker" || !tp.GetTalking() || tp.GetLevelDbov() < -20 || tp.GetBitrateBps() == 0 || tp.GetAudioCodec() != "audio/opus" {
		t.Fatalf("talker listed as %v", tp)
	}
	yes := true
	if _, err := c.UpdateParticipant(ctx, &mcuv1.UpdateParticipantRequest{RoomId: "talk", Id: tp.GetId(), MuteAudio: &yes}); err != nil {
		t.Fatal(err)
	}
	muted := time.Now()
	time.Sleep(500 * time.Millisecond)
	level := toneLevel(listener.Received(muted.Add(200*time.Millisecond), time.Now()), 600, amp)
	t.Logf("after mute the listener hears the talker at %+.1f dB", level)
	if level > -40 {
		t.Errorf("muted talker still heard at %+.1f dB", level)
	}
	if _, err := talker.Leave(ctx); err != nil {
		t.Fatal(err)
	}

	want := []mcuv1.EventType{
		mcuv1.EventType_EVENT_TYPE_ROOM_CREATED,
		mcuv1.EventType_EVENT_TYPE_PARTICIPANT_JOINED, // listener
		mcuv1.EventType_EVENT_TYPE_PARTICIPANT_JOINED, // talker
		mcuv1.EventType_EVENT_TYPE_TALKING_STARTED,
		mcuv1.EventType_EVENT_TYPE_ACTIVE_SPEAKER_CHANGED,
		mcuv1.EventType_EVENT_TYPE_PARTICIPANT_UPDATED, // muted
		mcuv1.EventType_EVENT_TYPE_TALKING_STOPPED,     // muting stops talking
		mcuv1.EventType_EVENT_TYPE_PARTICIPANT_LEFT,
	}
	var got []mcuv1.EventType
	deadline := time.After(5 * time.Second)
	for len(got) < len(want) {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended after %v", got)
			}
			if ev.GetType() == mcuv1.EventType_EVENT_TYPE_KEYFRAME_REQUESTED || ev.GetRoomId() != "talk" {
				continue
			}
			if ev.GetType() == mcuv1.EventType_EVENT_TYPE_TALKING_STARTED && ev.GetParticipantId() != tp.GetId() {
				t.Errorf("talking event for %s", ev.GetParticipantId())
			}
			got = append(got, ev.GetType())
		case <-deadline:
			t.Fatalf("events %v, want %v", got, want)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v\nwant   %v", got, want)
	}
	cancel()
	for range events {
	}
}

// regionCentre returns the centre of the i-th region of layout l on the
// test canvas.
func regionCentre(t *testing.T, l compositor.Layout, n, i int) (int, int) {
	t.Helper()
	rs, err := compositor.Regions(l, canvasW, canvasH, n)
	if err != nil {
		t.Fatal(err)
	}
	r := rs[i].Rect
	return r.X + r.W/2, r.Y + r.H/2
}

// colourAt reports whether pic shows col at (x, y).
func colourAt(pic *media.VideoFrame, x, y int, col colour) (bool, string) {
	yy, u, v := pic.At(x, y)
	ok := absDiff(yy, col.y) <= 16 && absDiff(u, col.u) <= 16 && absDiff(v, col.v) <= 16
	return ok, fmt.Sprintf("%d,%d,%d", yy, u, v)
}

// waitColourAt waits until every client's canvas shows col at (x, y).
func waitColourAt(t *testing.T, clients []*pionclient.Client, x, y int, col colour, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for _, c := range clients {
		for {
			pic, _ := c.LatestVideo()
			if pic != nil {
				if ok, _ := colourAt(pic, x, y, col); ok {
					break
				}
			}
			if time.Since(start) > within {
				got := "no picture"
				if pic != nil {
					_, got = colourAt(pic, x, y, col)
				}
				t.Fatalf("(%d,%d) never showed %s (last %s)", x, y, col.name, got)
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// TestGRPCSpeakerLayout: with the SPEAKER layout the talking participant's
// colour fills the large region of every canvas; a second speaker takes
// it only after the hold time.
func TestGRPCSpeakerLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, false)
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := []*pionclient.Client{joinVideo(t, s, "stage", red), joinVideo(t, s, "stage", green), joinVideo(t, s, "stage", blue)}
	for _, cl := range clients {
		cl.SetTone(0)
	}
	if _, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "stage", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER}}); err != nil {
		t.Fatal(err)
	}
	x, y := regionCentre(t, compositor.Speaker(), 3, 0)
	clients[1].SetTone(500) // green talks
	t.Logf("green took the speaker region after %v", waitColourAt(t, clients, x, y, green, 10*time.Second))
	clients[1].SetTone(0)
	clients[2].SetTone(700) // then blue
	started := time.Now()
	waitColourAt(t, clients, x, y, blue, 10*time.Second)
	took := time.Since(started)
	t.Logf("blue took the speaker region %v after it started talking", took)
	if took < time.Second {
		t.Errorf("the speaker region changed after %v, before the 1 s hold", took)
	}
	r, err := c.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "stage"})
	if err != nil || r.GetLayout().GetType() != mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER {
		t.Fatalf("room %v %v", r, err)
	}
}

// TestGRPCCustomLayoutAndOverride: CUSTOM regions show their assigned
// colours, the higher z on top where they overlap; a per-viewer override
// changes only that viewer's canvas.
func TestGRPCCustomLayoutAndOverride(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end WebRTC video test")
	}
	s := videoServer(t, false)
	c := dial(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := []*pionclient.Client{joinVideo(t, s, "custom", red), joinVideo(t, s, "custom", green), joinVideo(t, s, "custom", blue)}
	ps, err := c.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "custom"})
	if err != nil || len(ps.GetParticipants()) != 3 {
		t.Fatalf("participants %v %v", ps, err)
	}
	id := func(i int) string { return ps.GetParticipants()[i].GetId() }
	// Blue fills the canvas (z 0, cover); green sits on it (z 2) over the
	// left half; red (z 1) overlaps green's right edge and lies under it.
	regions := []*mcuv1.Region{
		{X: 0, Y: 0, W: 1, H: 1, Z: 0, Fit: mcuv1.Fit_FIT_COVER, Source: &mcuv1.Region_ParticipantId{ParticipantId: id(2)}},
		{X: 0, Y: 0.25, W: 0.5, H: 0.5, Z: 2, Fit: mcuv1.Fit_FIT_COVER, Source: &mcuv1.Region_ParticipantId{ParticipantId: id(1)}},
		{X: 0.375, Y: 0.25, W: 0.5, H: 0.5, Z: 1, Fit: mcuv1.Fit_FIT_COVER, Source: &mcuv1.Region_ParticipantId{ParticipantId: id(0)}},
	}
	if _, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "custom", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM, Regions: regions}}); err != nil {
		t.Fatal(err)
	}
	at := func(fx, fy float64) (int, int) { return int(fx * canvasW), int(fy * canvasH) }
	x, y := at(0.1, 0.1)
	waitColourAt(t, clients, x, y, blue, 10*time.Second) // background
	x, y = at(0.2, 0.5)
	waitColourAt(t, clients, x, y, green, 5*time.Second)
	x, y = at(0.45, 0.5) // the overlap: green (z 2) over red (z 1)
	waitColourAt(t, clients, x, y, green, 5*time.Second)
	x, y = at(0.8, 0.5)
	waitColourAt(t, clients, x, y, red, 5*time.Second)

	// Viewer 0 alone switches to a grid.
	if _, err := c.SetLayout(ctx, &mcuv1.SetLayoutRequest{RoomId: "custom", ViewerId: id(0), Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_GRID}}); err != nil {
		t.Fatal(err)
	}
	waitCanvas(t, clients[:1], func(int) []*colour { return cols(red, green, blue) }, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	for i, cl := range clients[1:] {
		pic, _ := cl.LatestVideo()
		if ok, got := colourAt(pic, int(0.1*canvasW), int(0.1*canvasH), blue); !ok {
			t.Errorf("viewer %d's canvas changed with another viewer's override (%s)", i+1, got)
		}
	}
	if enc := s.metric(t, "mcu_video_encoders"); enc != 2 {
		t.Errorf("%v encoders, want 2 (the room's view shared, one personal)", enc)
	}
}
