package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fakeClient records the requests of the unary calls and answers each
// with a minimal response.
type fakeClient struct {
	mcuv1.MCUClient // StreamEvents: not faked
	reqs            []proto.Message
	md              metadata.MD
}

func (f *fakeClient) record(ctx context.Context, req proto.Message) {
	f.reqs = append(f.reqs, req)
	f.md, _ = metadata.FromOutgoingContext(ctx)
}

func (f *fakeClient) CreateRoom(ctx context.Context, in *mcuv1.CreateRoomRequest, _ ...grpc.CallOption) (*mcuv1.Room, error) {
	f.record(ctx, in)
	return &mcuv1.Room{Id: in.GetId(), Options: in.GetOptions()}, nil
}

func (f *fakeClient) GetRoom(ctx context.Context, in *mcuv1.GetRoomRequest, _ ...grpc.CallOption) (*mcuv1.Room, error) {
	f.record(ctx, in)
	return &mcuv1.Room{Id: in.GetId()}, nil
}

func (f *fakeClient) ListRooms(ctx context.Context, in *mcuv1.ListRoomsRequest, _ ...grpc.CallOption) (*mcuv1.ListRoomsResponse, error) {
	f.record(ctx, in)
	return &mcuv1.ListRoomsResponse{}, nil
}

func (f *fakeClient) UpdateRoom(ctx context.Context, in *mcuv1.UpdateRoomRequest, _ ...grpc.CallOption) (*mcuv1.Room, error) {
	f.record(ctx, in)
	return &mcuv1.Room{Id: in.GetId()}, nil
}

func (f *fakeClient) DeleteRoom(ctx context.Context, in *mcuv1.DeleteRoomRequest, _ ...grpc.CallOption) (*mcuv1.DeleteRoomResponse, error) {
	f.record(ctx, in)
	return &mcuv1.DeleteRoomResponse{}, nil
}

func (f *fakeClient) ListParticipants(ctx context.Context, in *mcuv1.ListParticipantsRequest, _ ...grpc.CallOption) (*mcuv1.ListParticipantsResponse, error) {
	f.record(ctx, in)
	return &mcuv1.ListParticipantsResponse{}, nil
}

func (f *fakeClient) UpdateParticipant(ctx context.Context, in *mcuv1.UpdateParticipantRequest, _ ...grpc.CallOption) (*mcuv1.Participant, error) {
	f.record(ctx, in)
	return &mcuv1.Participant{Id: in.GetId(), Name: in.GetDisplayName(), GainDb: in.GetGainDb()}, nil
}

func (f *fakeClient) RemoveParticipant(ctx context.Context, in *mcuv1.RemoveParticipantRequest, _ ...grpc.CallOption) (*mcuv1.RemoveParticipantResponse, error) {
	f.record(ctx, in)
	return &mcuv1.RemoveParticipantResponse{}, nil
}

func (f *fakeClient) SetLayout(ctx context.Context, in *mcuv1.SetLayoutRequest, _ ...grpc.CallOption) (*mcuv1.Layout, error) {
	f.record(ctx, in)
	return in.GetLayout(), nil
}

func (f *fakeClient) GetLayout(ctx context.Context, in *mcuv1.GetLayoutRequest, _ ...grpc.CallOption) (*mcuv1.Layout, error) {
	f.record(ctx, in)
	return &mcuv1.Layout{}, nil
}

func (f *fakeClient) CreateRTPLeg(ctx context.Context, in *mcuv1.CreateRTPLegRequest, _ ...grpc.CallOption) (*mcuv1.RTPLeg, error) {
	f.record(ctx, in)
	return &mcuv1.RTPLeg{Id: "leg", Local: "127.0.0.1:40000"}, nil
}

func (f *fakeClient) DeleteRTPLeg(ctx context.Context, in *mcuv1.DeleteRTPLegRequest, _ ...grpc.CallOption) (*mcuv1.DeleteRTPLegResponse, error) {
	f.record(ctx, in)
	return &mcuv1.DeleteRTPLegResponse{}, nil
}

func (f *fakeClient) CreateToken(ctx context.Context, in *mcuv1.CreateTokenRequest, _ ...grpc.CallOption) (*mcuv1.Token, error) {
	f.record(ctx, in)
	return &mcuv1.Token{Token: "h.p.s", Identity: in.GetIdentity(), Room: in.GetRoom()}, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// runFake runs a command line against a fake client.
func runFake(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string, fc *fakeClient, g *globals) {
	t.Helper()
	fc = &fakeClient{}
	var out, errb bytes.Buffer
	code = runWith(context.Background(), args, &out, &errb, func(k string) string { return env[k] },
		func(gl *globals) (mcuv1.MCUClient, io.Closer, error) { g = gl; return fc, nopCloser{}, nil })
	return code, out.String(), errb.String(), fc, g
}

func region(x, y, w, h float64, z int32, fit mcuv1.Fit, src any) *mcuv1.Region {
	r := &mcuv1.Region{X: x, Y: y, W: w, H: h, Z: z, Fit: fit}
	switch s := src.(type) {
	case string:
		r.Source = &mcuv1.Region_ParticipantId{ParticipantId: s}
	case *mcuv1.Region_ActiveSpeaker:
		r.Source = s
	case *mcuv1.Region_NextFree:
		r.Source = s
	}
	return r
}

var (
	speaker = &mcuv1.Region_ActiveSpeaker{ActiveSpeaker: true}
	next    = &mcuv1.Region_NextFree{NextFree: true}
	contain = mcuv1.Fit_FIT_CONTAIN
	cover   = mcuv1.Fit_FIT_COVER
)

// TestCommandRequests: each command line makes the request it should,
// whatever the order of flags and arguments.
func TestCommandRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want proto.Message
		out  string // substring of stdout
	}{
		{"create, flags after the room", []string{"rooms", "create", "demo", "--canvas", "1280x720@30", "--codecs", "vp8,H264"},
			&mcuv1.CreateRoomRequest{Id: "demo", Options: &mcuv1.RoomOptions{Width: 1280, Height: 720, Fps: 30, VideoCodecs: []string{"VP8", "H264"}}},
			"room demo created (1280x720@30, VP8,H264)"},
		{"create, flags before the room", []string{"rooms", "create", "-canvas=640x360", "demo"},
			&mcuv1.CreateRoomRequest{Id: "demo", Options: &mcuv1.RoomOptions{Width: 640, Height: 360}}, ""},
		{"create, flags around the room", []string{"rooms", "create", "--exclude-self", "demo", "--max-participants", "5", "--max-speakers=3", "--audio-complexity", "4", "--delete-when-empty"},
			&mcuv1.CreateRoomRequest{Id: "demo", Options: &mcuv1.RoomOptions{ExcludeSelf: true, MaxParticipants: 5, MaxSpeakers: 3, AudioComplexity: 4, DeleteWhenEmpty: true}}, ""},
		{"create with a ladder", []string{"rooms", "create", "demo", "--ladder", "1280x720@30:1.5M,640x360@30:600k,320x180@15:150000"},
			&mcuv1.CreateRoomRequest{Id: "demo", Options: &mcuv1.RoomOptions{Ladder: []*mcuv1.Rung{
				{Width: 1280, Height: 720, Fps: 30, BitrateBps: 1_500_000}, {Width: 640, Height: 360, Fps: 30, BitrateBps: 600_000}, {Width: 320, Height: 180, Fps: 15, BitrateBps: 150_000}}}}, ""},
		{"create with server defaults", []string{"rooms", "create", "demo"}, &mcuv1.CreateRoomRequest{Id: "demo"}, ""},
		{"global flag after the command", []string{"rooms", "create", "demo", "-json"}, &mcuv1.CreateRoomRequest{Id: "demo"}, `{"id":"demo"`},
		{"get", []string{"rooms", "get", "demo"}, &mcuv1.GetRoomRequest{Id: "demo"}, "room:"},
		{"list", []string{"rooms", "list"}, &mcuv1.ListRoomsRequest{}, "no rooms"},
		{"update", []string{"rooms", "update", "demo", "--exclude-self=false", "--max-speakers", "2"},
			&mcuv1.UpdateRoomRequest{Id: "demo", ExcludeSelf: proto.Bool(false), MaxSpeakers: proto.Uint32(2)}, "room demo updated (exclude self no, max speakers all)"},
		{"update to zero", []string{"rooms", "update", "--max-participants", "0", "--delete-when-empty", "demo"},
			&mcuv1.UpdateRoomRequest{Id: "demo", MaxParticipants: proto.Uint32(0), DeleteWhenEmpty: proto.Bool(true)}, ""},
		{"delete", []string{"rooms", "delete", "demo"}, &mcuv1.DeleteRoomRequest{Id: "demo"}, "room demo deleted"},
		{"participants", []string{"participants", "list", "demo"}, &mcuv1.ListParticipantsRequest{RoomId: "demo"}, "no participants"},
		{"mute", []string{"participants", "mute", "demo", "p1"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", MuteAudio: proto.Bool(true)}, "participant p1 audio muted"},
		{"unmute", []string{"participants", "unmute", "demo", "p1"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", MuteAudio: proto.Bool(false)}, "audio unmuted"},
		{"mute video", []string{"participants", "mute-video", "demo", "p1"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", MuteVideo: proto.Bool(true)}, "video muted"},
		{"unmute video", []string{"participants", "unmute-video", "demo", "p1"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", MuteVideo: proto.Bool(false)}, "video unmuted"},
		{"negative gain", []string{"participants", "gain", "demo", "p1", "-6"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", GainDb: proto.Float64(-6)}, "gain -6.0 dB"},
		{"gain in dB", []string{"participants", "gain", "demo", "p1", "-4.5dB"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", GainDb: proto.Float64(-4.5)}, ""},
		{"positive gain", []string{"participants", "gain", "demo", "p1", "+3"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", GainDb: proto.Float64(3)}, "gain +3.0 dB"},
		{"rename", []string{"participants", "rename", "demo", "p1", "Front desk"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", DisplayName: proto.String("Front desk")}, `participant p1 renamed to "Front desk"`},
		{"rename after --", []string{"participants", "rename", "demo", "p1", "--", "-dash-"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", DisplayName: proto.String("-dash-")}, ""},
		{"pin", []string{"participants", "pin", "demo", "p1"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", Pinned: proto.Bool(true)}, "participant p1 pinned"},
		{"unpin", []string{"participants", "unpin", "demo", "p1"}, &mcuv1.UpdateParticipantRequest{RoomId: "demo", Id: "p1", Pinned: proto.Bool(false)}, "unpinned"},
		{"remove", []string{"participants", "remove", "demo", "p1"}, &mcuv1.RemoveParticipantRequest{RoomId: "demo", Id: "p1"}, "participant p1 removed from demo"},
		{"layout get", []string{"layout", "get", "demo", "--viewer", "v1"}, &mcuv1.GetLayoutRequest{RoomId: "demo", ViewerId: "v1"}, ""},
		{"layout set", []string{"layout", "set", "demo", "speaker"},
			&mcuv1.SetLayoutRequest{RoomId: "demo", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_SPEAKER}}, "layout of demo set to speaker"},
		{"layout set for a viewer", []string{"layout", "set", "--viewer", "v1", "demo", "PIP"},
			&mcuv1.SetLayoutRequest{RoomId: "demo", ViewerId: "v1", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_PIP}}, "layout of v1 in demo set to pip"},
		{"custom layout", []string{"layout", "set", "demo", "custom", "--region", "0,0,1,1,0,cover,speaker", "--region", "0.6,0.6,0.3,0.3,1,contain,next", "--viewer", "v1"},
			&mcuv1.SetLayoutRequest{RoomId: "demo", ViewerId: "v1", Layout: &mcuv1.Layout{Type: mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM, Regions: []*mcuv1.Region{
				region(0, 0, 1, 1, 0, cover, speaker), region(0.6, 0.6, 0.3, 0.3, 1, contain, next)}}}, "set to custom (2 regions)"},
		{"layout clear", []string{"layout", "clear", "demo", "--viewer", "v1"},
			&mcuv1.SetLayoutRequest{RoomId: "demo", ViewerId: "v1", Layout: &mcuv1.Layout{}}, "layout override of v1 in demo removed"},
		{"leg", []string{"legs", "create", "demo", "10.0.0.5:5004", "PCMA", "--name", "desk phone"},
			&mcuv1.CreateRTPLegRequest{RoomId: "demo", Remote: "10.0.0.5:5004", Codec: "PCMA", Name: "desk phone"}, "leg leg joined demo; the device should send RTP to 127.0.0.1:40000"},
		{"leg delete", []string{"legs", "delete", "demo", "leg"}, &mcuv1.DeleteRTPLegRequest{RoomId: "demo", Id: "leg"}, "leg leg deleted from demo"},
		{"token", []string{"token", "create", "--room", "demo", "--identity", "alice", "--name", "Alice", "--ttl", "90m", "--grants", "subscribe, Hidden"},
			&mcuv1.CreateTokenRequest{Room: "demo", Identity: "alice", Name: "Alice", Ttl: durationpb.New(90 * time.Minute), Grants: &mcuv1.Grants{Subscribe: true, Hidden: true}}, "h.p.s\n"},
		{"token with the server's defaults", []string{"token", "create", "--identity=bob", "--room=*"}, &mcuv1.CreateTokenRequest{Room: "*", Identity: "bob"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr, fc, _ := runFake(t, nil, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if len(fc.reqs) != 1 || !proto.Equal(fc.reqs[0], tc.want) {
				t.Fatalf("requests %v\nwant %s", fc.reqs, prototext.Format(tc.want))
			}
			if !strings.Contains(stdout, tc.out) {
				t.Fatalf("stdout %q lacks %q", stdout, tc.out)
			}
		})
	}
}

// TestGlobals: the address and token come from the environment unless
// the flags say otherwise; the token travels as bearer metadata.
func TestGlobals(t *testing.T) {
	env := map[string]string{"MCUCTL_ADDR": "mcu.example:9999", "MCUCTL_TOKEN": "from-env"}
	for _, tc := range []struct {
		name        string
		env         map[string]string
		args        []string
		addr, token string
	}{
		{"defaults", nil, []string{"rooms", "list"}, "localhost:9090", ""},
		{"environment", env, []string{"rooms", "list"}, "mcu.example:9999", "Bearer from-env"},
		{"flags win", env, []string{"-addr", "10.1.1.1:1", "-token", "flag", "rooms", "list"}, "10.1.1.1:1", "Bearer flag"},
		{"flags after the command", env, []string{"rooms", "list", "-addr=10.1.1.1:2", "--token", "late"}, "10.1.1.1:2", "Bearer late"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr, fc, g := runFake(t, tc.env, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if g.addr != tc.addr {
				t.Errorf("addr %q, want %q", g.addr, tc.addr)
			}
			if got := strings.Join(fc.md.Get("authorization"), ","); got != tc.token {
				t.Errorf("authorization %q, want %q", got, tc.token)
			}
		})
	}
}

// TestUsageErrors: bad command lines exit 2 with a message and a usage
// line, without calling the server.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "no command"},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"-timeout", "soon", "rooms", "list"}, `invalid value "soon" for flag -timeout`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"rooms"}, "rooms: missing subcommand"},
		{[]string{"rooms", "frob"}, `rooms: unknown subcommand "frob"`},
		{[]string{"rooms", "create"}, "rooms create: missing arguments"},
		{[]string{"rooms", "create", "a", "b"}, `rooms create: unexpected argument "b"`},
		{[]string{"rooms", "list", "x"}, `rooms list: unexpected argument "x"`},
		{[]string{"rooms", "create", "demo", "--canvas", "1280x"}, `canvas "1280x": want WIDTHxHEIGHT[@FPS]`},
		{[]string{"rooms", "create", "demo", "--canvas", "1280x720@0"}, `canvas "1280x720@0"`},
		{[]string{"rooms", "create", "demo", "--canvas", "wide"}, `canvas "wide"`},
		{[]string{"rooms", "create", "demo", "--canvas"}, "flag needs an argument: -canvas"},
		{[]string{"rooms", "create", "demo", "--codecs", "VP8,,H264"}, `codecs "VP8,,H264"`},
		{[]string{"rooms", "create", "demo", "--ladder", "1280x720:1500k"}, `rung "1280x720:1500k": no @FPS`},
		{[]string{"rooms", "create", "demo", "--ladder", "1280x720@30:0"}, `bitrate "0" is not a positive whole number of b/s`},
		{[]string{"rooms", "create", "demo", "--ladder", "1280x720@30:1500k,,"}, `rung "": no @FPS`},
		{[]string{"rooms", "create", "demo", "--ladder", "fast"}, `ladder "fast": rung "fast": no @FPS (want WxH@FPS:BITRATE[,...]`},
		{[]string{"rooms", "create", "demo", "--max-speakers", "-1"}, `invalid value "-1" for flag -max-speakers`},
		{[]string{"rooms", "create", "demo", "--colour", "red"}, "flag provided but not defined: -colour"},
		{[]string{"rooms", "update", "demo"}, "nothing to update"},
		{[]string{"rooms", "update", "demo", "--exclude-self", "false"}, `unexpected argument "false"`},
		{[]string{"participants", "gain", "demo", "p1"}, "missing arguments"},
		{[]string{"participants", "gain", "demo", "p1", "loud"}, `gain "loud" is not a number of dB`},
		{[]string{"layout", "set", "demo", "diagonal"}, `layout "diagonal": grid, speaker, pip, presentation or custom`},
		{[]string{"layout", "set", "demo", "custom"}, "a custom layout needs --region"},
		{[]string{"layout", "set", "demo", "grid", "--region", "0,0,1,1"}, "--region is for custom layouts"},
		{[]string{"layout", "set", "demo", "custom", "--region", "0,0,1"}, `region "0,0,1": need at least x,y,w,h`},
		{[]string{"layout", "set", "demo", "custom", "--region", "0,0,1,x"}, `h "x" is not a number`},
		{[]string{"layout", "clear", "demo"}, "--viewer is required"},
		{[]string{"legs", "create", "demo", "127.0.0.1:9"}, "legs create: missing arguments"},
		{[]string{"events", "a", "b"}, `events: unexpected argument "b"`},
		{[]string{"token", "create", "--identity", "alice"}, "--room and --identity are required"},
		{[]string{"token", "create", "--room", "demo"}, "--room and --identity are required"},
		{[]string{"token", "create", "demo", "--identity", "alice"}, `token create: unexpected argument "demo"`},
		{[]string{"token", "create", "--room", "demo", "--identity", "alice", "--ttl", "soon"}, `invalid value "soon" for flag -ttl`},
		{[]string{"token", "create", "--room", "demo", "--identity", "alice", "--ttl", "0"}, "ttl 0s: want 1s to 8784h0m0s"},
		{[]string{"token", "create", "--room", "demo", "--identity", "alice", "--ttl", "9000h"}, "ttl 9000h0m0s"},
		{[]string{"token", "create", "--room", "demo", "--identity", "alice", "--grants", "root"}, `grants "root": want a list of publish, subscribe, admin, hidden`},
		{[]string{"token", "create", "--room", "demo", "--identity", "alice", "--grants", ""}, `grants ""`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr, fc, _ := runFake(t, nil, tc.args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stdout %q, stderr %q)", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, "usage: mcuctl") {
				t.Fatalf("stderr %q lacks %q or a usage line", stderr, tc.msg)
			}
			if len(fc.reqs) != 0 {
				t.Fatalf("called the server: %v", fc.reqs)
			}
		})
	}
	// Checked while connecting, before any call.
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-cert", "c.pem", "rooms", "list"}, &out, &errb, func(string) string { return "" }); code != 2 || !strings.Contains(errb.String(), "-cert and -key go together") {
		t.Fatalf("-cert without -key: exit %d, %q", code, errb.String())
	}
}

// TestHelp: help goes to stdout and exits 0.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, "Global flags:"},
		{[]string{"help"}, "legs create <room> <ip:port> <PCMU|PCMA|opus> [--name NAME]"},
		{[]string{"rooms", "-h"}, "mcuctl rooms update <room>"},
		{[]string{"rooms", "create", "-h"}, "--canvas WxH[@FPS]"},
		{[]string{"rooms", "create", "-h"}, "--ladder WxH@FPS:BITRATE[,...]"},
		{[]string{"layout", "set", "demo", "--help"}, "A region is x,y,w,h[,z][,fit][,who]"},
		{[]string{"events", "-h"}, "usage: mcuctl events [<room>]"},
		{[]string{"token", "create", "-h"}, "--ttl DURATION\n        how long the token is valid"},
	} {
		code, stdout, stderr, fc, _ := runFake(t, nil, tc.args...)
		if code != 0 || !strings.Contains(stdout, tc.want) || stderr != "" || len(fc.reqs) != 0 {
			t.Errorf("%q: exit %d, stdout lacks %q? stderr %q", tc.args, code, tc.want, stderr)
		}
	}
}

func TestParseRegion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *mcuv1.Region
		err  string
	}{
		{in: "0,0,1,1", want: region(0, 0, 1, 1, 0, contain, nil)},
		{in: "0.5, 0.25, 0.5, 0.5", want: region(0.5, 0.25, 0.5, 0.5, 0, contain, nil)},
		{in: "0,0,1,1,2", want: region(0, 0, 1, 1, 2, contain, nil)},
		{in: "0,0,1,1,cover", want: region(0, 0, 1, 1, 0, cover, nil)},
		{in: "0,0,1,1,speaker", want: region(0, 0, 1, 1, 0, contain, speaker)},
		{in: "0,0,1,1,-1,next", want: region(0, 0, 1, 1, -1, contain, next)},
		{in: "0,0,1,1,CONTAIN,abc123", want: region(0, 0, 1, 1, 0, contain, "abc123")},
		{in: "0,0,1,1,3,cover,abc123", want: region(0, 0, 1, 1, 3, cover, "abc123")},
		{in: "0,0,1,1,,,1234", want: region(0, 0, 1, 1, 0, contain, "1234")},
		{in: "0,0,1,1,,cover", want: region(0, 0, 1, 1, 0, cover, nil)},
		{in: "0,0,1,1,1234", want: region(0, 0, 1, 1, 1234, contain, nil)}, // digits are a z
		{in: "0,0,1", err: "need at least x,y,w,h"},
		{in: "a,0,1,1", err: `x "a" is not a number`},
		{in: "0,0,1,1,x,cover,speaker", err: `z "x" is not an integer`},
		{in: "0,0,1,1,1,stretch,speaker", err: `fit "stretch": contain or cover`},
		{in: "0,0,1,1,stretch,speaker", err: `fit "stretch"`},
		{in: "0,0,1,1,1,cover,speaker,x", err: "too many fields"},
	} {
		got, err := parseRegion(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && !proto.Equal(got, tc.want):
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseCanvas(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want canvas
		ok   bool
	}{
		{"1280x720@30", canvas{1280, 720, 30}, true},
		{"640x360", canvas{640, 360, 0}, true},
		{"1x1@1", canvas{1, 1, 1}, true}, // ranges are the server's to check
		{"1280x720@", canvas{}, false},
		{"1280*720", canvas{}, false},
		{"0x720", canvas{}, false},
		{"-2x720", canvas{}, false},
		{"1280x720@30fps", canvas{}, false},
		{"", canvas{}, false},
	} {
		got, err := parseCanvas(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("%q: %v %v, want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestInterspersed: flags anywhere, "--", negative numbers.
func TestInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  string
		name string
		loud bool
	}{
		{[]string{"a", "--name", "n", "b"}, "a b", "n", false},
		{[]string{"--loud", "a", "-name=n"}, "a", "n", true},
		{[]string{"a", "-6", "--loud"}, "a -6", "", true},
		{[]string{"a", "--", "--loud", "-x"}, "a --loud -x", "", false},
		{[]string{"a", "--name", "-6"}, "a", "-6", false}, // a flag's value may look like a number
		{[]string{"-", "a"}, "- a", "", false},
	} {
		fs := newFlagSet("t")
		name := fs.String("name", "", "")
		loud := fs.Bool("loud", false, "")
		pos, err := parseInterspersed(fs, tc.args)
		if err != nil || strings.Join(pos, " ") != tc.pos || *name != tc.name || *loud != tc.loud {
			t.Errorf("%q: %q name %q loud %v (%v)", tc.args, pos, *name, *loud, err)
		}
	}
}

func TestCodeName(t *testing.T) {
	for in, want := range map[string]string{"InvalidArgument": "INVALID_ARGUMENT", "NotFound": "NOT_FOUND", "OK": "OK", "Unauthenticated": "UNAUTHENTICATED", "DeadlineExceeded": "DEADLINE_EXCEEDED"} {
		if got := codeName(in); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
