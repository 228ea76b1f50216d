package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcu-project/mcu/api"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// noLegs is a room manager without the transport's plain-RTP legs.
type noLegs struct{ *room.Manager }

func (noLegs) CreateRTPLeg(media.RoomID, string, string, string) (media.ParticipantID, string, error) {
	return "", "", errors.New("no legs here")
}

// startServer serves the API over a real room manager (no codecs: rooms
// without participants need none) on a loopback port until the test ends.
func startServer(t *testing.T, defaults room.Options) (mcuv1.MCUClient, *api.Broker) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broker := api.NewBroker()
	rooms, err := room.NewManager(room.Config{Registry: &codec.Registry{}, Defaults: defaults, Logger: log, OnEvent: broker.Publish})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	mcuv1.RegisterMCUServer(srv, api.NewServer(noLegs{rooms}, broker, log))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := rooms.Close(); err != nil {
			t.Errorf("close rooms: %v", err)
		}
	})
	return mcuv1.NewMCUClient(conn), broker
}

func rung(w, h, fps, bps uint32) *mcuv1.Rung {
	return &mcuv1.Rung{Width: w, Height: h, Fps: fps, BitrateBps: bps}
}

func TestLadderRoundTrip(t *testing.T) {
	c, _ := startServer(t, room.DefaultOptions())
	ctx := context.Background()
	custom := []*mcuv1.Rung{rung(1280, 720, 30, 2_000_000), rung(960, 540, 15, 800_000)}
	if _, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "custom", Options: &mcuv1.RoomOptions{Ladder: custom}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "custom"})
	if err != nil {
		t.Fatal(err)
	}
	if !equalLadders(got.GetOptions().GetLadder(), custom) {
		t.Fatalf("custom %v, want %v", got.GetOptions().GetLadder(), custom)
	}

	// Without a custom, rooms show the default one of their canvas.
	if _, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "small", Options: &mcuv1.RoomOptions{Width: 640, Height: 360, Fps: 30}}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListRooms(ctx, &mcuv1.ListRoomsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]*mcuv1.Rung{"custom": custom, "small": api.LadderToProto(ladder.Default(640, 360, 30, 0))}
	for _, r := range list.GetRooms() {
		if !equalLadders(r.GetOptions().GetLadder(), want[r.GetId()]) {
			t.Errorf("room %s: ladder %v, want %v", r.GetId(), r.GetOptions().GetLadder(), want[r.GetId()])
		}
	}
}

// TestServerLadderAndCanvas: the server's configured ladder applies to
// rooms with its canvas; a room with a canvas of its own gets that
// canvas's default ladder, or its top rung alone when adaptation is off.
func TestServerLadderAndCanvas(t *testing.T) {
	ctx := context.Background()
	defaults := room.DefaultOptions()
	defaults.Ladder = []ladder.Rung{{Width: 1280, Height: 720, FPS: 30, BitrateBps: 1_200_000}, {Width: 640, Height: 360, FPS: 15, BitrateBps: 300_000}}
	c, _ := startServer(t, defaults)
	off := room.DefaultOptions()
	off.Ladder = ladder.Default(1280, 720, 30, 0)[:1]
	cOff, _ := startServer(t, off)
	for _, tc := range []struct {
		name   string
		client mcuv1.MCUClient
		opts   *mcuv1.RoomOptions
		want   []ladder.Rung
	}{
		{"server ladder", c, &mcuv1.RoomOptions{MaxSpeakers: 2}, defaults.Ladder},
		{"own canvas", c, &mcuv1.RoomOptions{Width: 640, Height: 360}, ladder.Default(640, 360, 30, 0)},
		{"adaptation off, own canvas", cOff, &mcuv1.RoomOptions{Width: 640, Height: 360, Fps: 15}, ladder.Default(640, 360, 15, 0)[:1]},
	} {
		r, err := tc.client.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: strings.ReplaceAll(tc.name, " ", "-"), Options: tc.opts})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if got := api.LadderFromProto(r.GetOptions().GetLadder()); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ladder %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBadLadder(t *testing.T) {
	c, _ := startServer(t, room.DefaultOptions())
	ctx := context.Background()
	top := rung(1280, 720, 30, 1_500_000)
	for _, tc := range []struct {
		name   string
		ladder []*mcuv1.Rung
		msg    string
	}{
		{"4 rungs", []*mcuv1.Rung{top, rung(960, 540, 30, 900_000), rung(640, 360, 30, 600_000), rung(320, 180, 15, 150_000)}, "4 rungs (at most 3)"},
		{"bigger than the canvas", []*mcuv1.Rung{rung(1920, 1080, 30, 3_000_000)}, "rung 0 is 1920x1080"},
		{"increasing bitrate", []*mcuv1.Rung{top, rung(640, 360, 30, 2_000_000)}, "rung 1 at 2000000 b/s"},
		{"fps 7 on 30", []*mcuv1.Rung{top, rung(640, 360, 7, 300_000)}, "rung 1 at 7 fps"},
		{"odd size", []*mcuv1.Rung{rung(641, 360, 30, 600_000)}, "rung 0 is 641x360"},
		{"zero bitrate", []*mcuv1.Rung{rung(640, 360, 30, 0)}, "rung 0 at 0 b/s"},
	} {
		_, err := c.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "bad", Options: &mcuv1.RoomOptions{Ladder: tc.ladder}})
		s, _ := status.FromError(err)
		if s.Code() != codes.InvalidArgument || !strings.Contains(s.Message(), tc.msg) || strings.Contains(s.Message(), "\n") {
			t.Errorf("%s: %v, want InvalidArgument with %q on one line", tc.name, err, tc.msg)
		}
	}
	list, err := c.ListRooms(ctx, &mcuv1.ListRoomsRequest{})
	if err != nil || len(list.GetRooms()) != 0 {
		t.Fatalf("rooms after bad ladders: %v %v", list.GetRooms(), err)
	}
}

// TestRungChangedEvent: a rung change reaches an event stream with its
// rungs and estimate.
func TestRungChangedEvent(t *testing.T) {
	c, broker := startServer(t, room.DefaultOptions())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := c.StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "r"})
	if err != nil {
		t.Fatal(err)
	}
	got, failed := make(chan *mcuv1.Event, 1), make(chan error, 1)
	go func() {
		if ev, err := stream.Recv(); err != nil {
			failed <- err
		} else {
			got <- ev
		}
	}()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := room.Event{Type: room.EventRungChanged, Room: "r", Participant: "p1", At: at, Rung: -1, FromRung: 2, EstimateBps: 95_000}
	// The stream subscribes asynchronously: publish until it has.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		broker.Publish(ev)
		select {
		case e := <-got:
			want := &mcuv1.Event{Type: mcuv1.EventType_EVENT_TYPE_RUNG_CHANGED, Time: e.GetTime(), RoomId: "r", ParticipantId: "p1", Rung: -1, FromRung: 2, EstimateBps: 95_000}
			if !proto.Equal(e, want) || !e.GetTime().AsTime().Equal(at) {
				t.Fatalf("event %v, want %v at %v", e, want, at)
			}
			return
		case err := <-failed:
			t.Fatal(err)
		case <-tick.C:
		}
	}
}

func equalLadders(a, b []*mcuv1.Rung) bool {
	return slices.Equal(api.LadderFromProto(a), api.LadderFromProto(b))
}
