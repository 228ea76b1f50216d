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
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/ladder"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// noLegs is a room manager without the transport's plain-RTP legs.
type noLegs struct{ *room.Manager }

func (noLegs) CreateRTPLeg(media.RoomID, string, string, string) (media.ParticipantID, string, error) {
	return "", "", errors.New("no legs here")
}

// startServer serves the API over a real room manager (no codecs: rooms
// without participants need none) on a loopback port until the test ends,
// minting join tokens with tokens (nil: auth off).
func startServer(t *testing.T, defaults room.Options, tokens *auth.Authority) (mcuv1.MCUClient, *api.Broker) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	broker := api.NewBroker()
	rooms, err := room.NewManager(room.Config{Registry: &codec.Registry{}, Defaults: defaults, Logger: log, OnEvent: broker.Publish})
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	mcuv1.RegisterMCUServer(srv, api.NewServer(noLegs{rooms}, broker, tokens, log))
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
	c, _ := startServer(t, room.DefaultOptions(), nil)
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
	c, _ := startServer(t, defaults, nil)
	off := room.DefaultOptions()
	off.Ladder = ladder.Default(1280, 720, 30, 0)[:1]
	cOff, _ := startServer(t, off, nil)
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
	c, _ := startServer(t, room.DefaultOptions(), nil)
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
	c, broker := startServer(t, room.DefaultOptions(), nil)
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

var (
	tokenSecret = []byte("a test secret of at least 32 bytes")
	tokenNow    = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
)

// tokenAuthority is the server's and the verifier's: the same secret and a
// fixed clock.
func tokenAuthority(t *testing.T) *auth.Authority {
	t.Helper()
	a, err := auth.New(tokenSecret, func() time.Time { return tokenNow })
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCreateToken: a minted token verifies with the server's secret and
// carries what was asked, with publish+subscribe and an hour when the
// request leaves grants and ttl unset.
func TestCreateToken(t *testing.T) {
	c, _ := startServer(t, room.DefaultOptions(), tokenAuthority(t))
	verifier := tokenAuthority(t)
	for _, tc := range []struct {
		name string
		req  *mcuv1.CreateTokenRequest
		want auth.Claims
	}{
		{"everything given", &mcuv1.CreateTokenRequest{Room: "demo", Identity: "alice", Name: "Alice",
			Grants: api.GrantsToProto(auth.Grants{Subscribe: true, Admin: true, Hidden: true}), Ttl: durationpb.New(2 * time.Hour)},
			auth.Claims{Identity: "alice", Room: "demo", Name: "Alice", Grants: auth.Grants{Subscribe: true, Admin: true, Hidden: true}, ExpiresAt: tokenNow.Add(2 * time.Hour)}},
		{"defaults", &mcuv1.CreateTokenRequest{Room: "*", Identity: "bob"},
			auth.Claims{Identity: "bob", Room: "*", Grants: auth.DefaultGrants(), ExpiresAt: tokenNow.Add(time.Hour)}},
		{"grants set but none", &mcuv1.CreateTokenRequest{Room: "demo", Identity: "carol", Grants: &mcuv1.Grants{}},
			auth.Claims{Identity: "carol", Room: "demo", ExpiresAt: tokenNow.Add(time.Hour)}},
		{"longest ttl", &mcuv1.CreateTokenRequest{Room: "demo", Identity: "dan", Ttl: durationpb.New(auth.MaxTTL)},
			auth.Claims{Identity: "dan", Room: "demo", Grants: auth.DefaultGrants(), ExpiresAt: tokenNow.Add(auth.MaxTTL)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := c.CreateToken(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := verifier.Verify(tok.GetToken())
			if err != nil {
				t.Fatal(err)
			}
			if !got.ExpiresAt.Equal(tc.want.ExpiresAt) {
				t.Fatalf("expiry %v, want %v", got.ExpiresAt, tc.want.ExpiresAt)
			}
			if got.ExpiresAt = tc.want.ExpiresAt; got != tc.want { // the same instant, maybe not the same zone
				t.Fatalf("claims %+v, want %+v", got, tc.want)
			}
			if !tok.GetExpiresAt().AsTime().Equal(tc.want.ExpiresAt) || tok.GetIdentity() != tc.want.Identity || tok.GetRoom() != tc.want.Room {
				t.Fatalf("response %v, want expiry %v, identity %s, room %s", tok, tc.want.ExpiresAt, tc.want.Identity, tc.want.Room)
			}
		})
	}
}

// TestCreateTokenRefuses: bad claims are INVALID_ARGUMENT with a one-line
// reason; without an authority every request is FAILED_PRECONDITION.
func TestCreateTokenRefuses(t *testing.T) {
	c, _ := startServer(t, room.DefaultOptions(), tokenAuthority(t))
	ok := func(edit func(r *mcuv1.CreateTokenRequest)) *mcuv1.CreateTokenRequest {
		r := &mcuv1.CreateTokenRequest{Room: "demo", Identity: "alice"}
		edit(r)
		return r
	}
	for _, tc := range []struct {
		name string
		req  *mcuv1.CreateTokenRequest
		msg  string
	}{
		{"zero ttl", ok(func(r *mcuv1.CreateTokenRequest) { r.Ttl = durationpb.New(0) }), "ttl 0s"},
		{"negative ttl", ok(func(r *mcuv1.CreateTokenRequest) { r.Ttl = durationpb.New(-time.Minute) }), "ttl -1m0s"},
		{"under a second", ok(func(r *mcuv1.CreateTokenRequest) { r.Ttl = durationpb.New(time.Millisecond) }), "ttl 1ms: want 1s to"},
		{"over the most", ok(func(r *mcuv1.CreateTokenRequest) { r.Ttl = durationpb.New(auth.MaxTTL + time.Second) }), "ttl 8784h0m1s"},
		{"malformed ttl", ok(func(r *mcuv1.CreateTokenRequest) { r.Ttl = &durationpb.Duration{Seconds: 60, Nanos: -1} }), "ttl: "},
		{"no room", ok(func(r *mcuv1.CreateTokenRequest) { r.Room = "" }), `room id "": 1-64 characters, no spaces or slashes (or "*" for every room)`},
		{"room with a slash", ok(func(r *mcuv1.CreateTokenRequest) { r.Room = "a/b" }), `room id "a/b"`},
		{"no identity", ok(func(r *mcuv1.CreateTokenRequest) { r.Identity = "" }), "identity must be 1 to 128 bytes"},
		{"long identity", ok(func(r *mcuv1.CreateTokenRequest) { r.Identity = strings.Repeat("i", 129) }), "identity must be 1 to 128 bytes"},
		{"long name", ok(func(r *mcuv1.CreateTokenRequest) { r.Name = strings.Repeat("é", 65) }), "name longer than 64 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := c.CreateToken(context.Background(), tc.req)
			s, _ := status.FromError(err)
			if s.Code() != codes.InvalidArgument || !strings.Contains(s.Message(), tc.msg) || strings.Contains(s.Message(), "\n") {
				t.Fatalf("%v %v, want InvalidArgument with %q on one line", tok, err, tc.msg)
			}
		})
	}

	off, _ := startServer(t, room.DefaultOptions(), nil)
	_, err := off.CreateToken(context.Background(), ok(func(*mcuv1.CreateTokenRequest) {}))
	if s, _ := status.FromError(err); s.Code() != codes.FailedPrecondition || s.Message() != "auth is off: start mcu with -auth-secret" {
		t.Fatalf("auth off: %v", err)
	}
}
