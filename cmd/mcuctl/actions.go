package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mcu-project/mcu/api"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/ladder"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// unary makes the action of a command that is one call: call it within
// the -timeout, then print the response as JSON or as text.
func unary[R proto.Message](call func(ctx context.Context, c mcuv1.MCUClient) (R, error), text func(w io.Writer, r R) error) action {
	return func(ctx context.Context, a *app) error {
		cctx, cancel := a.call(ctx)
		defer cancel()
		r, err := call(cctx, a.client)
		if err != nil {
			return err
		}
		if a.json {
			return writeJSON(a.out, r)
		}
		return text(a.out, r)
	}
}

func roomsList([]string) (action, error) {
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.ListRoomsResponse, error) {
		return c.ListRooms(ctx, &mcuv1.ListRoomsRequest{})
	}, func(w io.Writer, r *mcuv1.ListRoomsResponse) error { return printRooms(w, r.GetRooms()) }), nil
}

func nodesList([]string) (action, error) {
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.ListNodesResponse, error) {
		return c.ListNodes(ctx, &mcuv1.ListNodesRequest{})
	}, func(w io.Writer, r *mcuv1.ListNodesResponse) error { return printNodes(w, r.GetNodes()) }), nil
}

func roomsGet(args []string) (action, error) {
	req := &mcuv1.GetRoomRequest{Id: args[0]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Room, error) {
		return c.GetRoom(ctx, req)
	}, printRoom), nil
}

func roomsCreate(fs *flag.FlagSet) func([]string) (action, error) {
	canvasFlag := fs.String("canvas", "", "canvas size and frame rate, `WxH[@FPS]` (e.g. 1280x720@30)")
	codecs := fs.String("codecs", "", "video codecs the room allows, `list` of VP8, H264")
	excludeSelf := fs.Bool("exclude-self", false, "leave each participant's own tile out of its canvas")
	maxParticipants := fs.Uint("max-participants", 0, "most participants, `N` (0: no limit)")
	maxSpeakers := fs.Uint("max-speakers", 0, "most simultaneous speakers mixed, `N` (0: everyone)")
	audioComplexity := fs.Uint("audio-complexity", 0, "Opus encoder complexity, `1..10`: lower costs less CPU (0: the server's default)")
	deleteWhenEmpty := fs.Bool("delete-when-empty", false, "delete the room when its last participant leaves")
	noLabels := fs.Bool("no-labels", false, "draw no name labels or mute marks on the tiles")
	noHighlight := fs.Bool("no-highlight", false, "draw no border around the tile of whoever talks")
	ladderFlag := fs.String("ladder", "", "bitrate ladder, top rung first, `"+ladder.Syntax+"` (e.g. 1280x720@30:1500k,640x360@30:600k,320x180@15:150k)")
	autoRecord := fs.Bool("auto-record", false, "record the room (WebM in the server's -record-dir) from its creation")
	return func(args []string) (action, error) {
		req := &mcuv1.CreateRoomRequest{Id: args[0]}
		// Without flags the options stay unset: all the server's defaults.
		fs.Visit(func(f *flag.Flag) {
			if !globalFlag(f.Name) {
				req.Options = &mcuv1.RoomOptions{}
			}
		})
		if o := req.Options; o != nil {
			if *canvasFlag != "" {
				c, err := parseCanvas(*canvasFlag)
				if err != nil {
					return nil, err
				}
				o.Width, o.Height, o.Fps = c.w, c.h, c.fps
			}
			if *codecs != "" {
				cs, err := parseCodecs(*codecs)
				if err != nil {
					return nil, err
				}
				o.VideoCodecs = cs
			}
			if *ladderFlag != "" {
				rungs, err := ladder.Parse(*ladderFlag)
				if err != nil {
					return nil, err
				}
				o.Ladder = api.LadderToProto(rungs)
			}
			var err error
			if o.MaxParticipants, err = uint32Flag("max-participants", *maxParticipants); err != nil {
				return nil, err
			}
			if o.MaxSpeakers, err = uint32Flag("max-speakers", *maxSpeakers); err != nil {
				return nil, err
			}
			if o.AudioComplexity, err = uint32Flag("audio-complexity", *audioComplexity); err != nil {
				return nil, err
			}
			o.ExcludeSelf, o.DeleteWhenEmpty = *excludeSelf, *deleteWhenEmpty
			o.NoLabels, o.NoHighlight = *noLabels, *noHighlight
			o.AutoRecord = *autoRecord
		}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Room, error) {
			return c.CreateRoom(ctx, req)
		}, func(w io.Writer, r *mcuv1.Room) error {
			_, err := fmt.Fprintf(w, "room %s created (%s, %s)\n", r.GetId(), canvasText(r.GetOptions()), codecsText(r.GetOptions()))
			return err
		}), nil
	}
}

func uint32Flag(name string, v uint) (uint32, error) {
	if v > 1<<32-1 {
		return 0, fmt.Errorf("--%s %d: too large", name, v)
	}
	return uint32(v), nil
}

func roomsUpdate(fs *flag.FlagSet) func([]string) (action, error) {
	excludeSelf := fs.Bool("exclude-self", false, "leave each participant's own tile out of its canvas")
	maxParticipants := fs.Uint("max-participants", 0, "most participants, `N` (0: no limit)")
	maxSpeakers := fs.Uint("max-speakers", 0, "most simultaneous speakers mixed, `N` (0: everyone)")
	deleteWhenEmpty := fs.Bool("delete-when-empty", false, "delete the room when its last participant leaves")
	return func(args []string) (action, error) {
		req := &mcuv1.UpdateRoomRequest{Id: args[0]}
		var changed []string
		var err error
		fs.Visit(func(f *flag.Flag) {
			if err != nil {
				return
			}
			switch f.Name {
			case "exclude-self":
				req.ExcludeSelf = proto.Bool(*excludeSelf)
			case "delete-when-empty":
				req.DeleteWhenEmpty = proto.Bool(*deleteWhenEmpty)
			case "max-participants":
				var v uint32
				v, err = uint32Flag(f.Name, *maxParticipants)
				req.MaxParticipants = &v
			case "max-speakers":
				var v uint32
				v, err = uint32Flag(f.Name, *maxSpeakers)
				req.MaxSpeakers = &v
			default:
				return
			}
			changed = append(changed, f.Name)
		})
		if err != nil {
			return nil, err
		}
		if len(changed) == 0 {
			return nil, errors.New("nothing to update: give at least one of the flags")
		}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Room, error) {
			return c.UpdateRoom(ctx, req)
		}, func(w io.Writer, r *mcuv1.Room) error {
			o := r.GetOptions()
			var what []string
			for _, name := range changed {
				switch name {
				case "exclude-self":
					what = append(what, "exclude self "+yesNo(o.GetExcludeSelf()))
				case "delete-when-empty":
					what = append(what, "delete when empty "+yesNo(o.GetDeleteWhenEmpty()))
				case "max-participants":
					what = append(what, "max participants "+limitText(o.GetMaxParticipants(), "unlimited"))
				case "max-speakers":
					what = append(what, "max speakers "+limitText(o.GetMaxSpeakers(), "all"))
				}
			}
			_, err := fmt.Fprintf(w, "room %s updated (%s)\n", r.GetId(), strings.Join(what, ", "))
			return err
		}), nil
	}
}

func roomsDelete(args []string) (action, error) {
	req := &mcuv1.DeleteRoomRequest{Id: args[0]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.DeleteRoomResponse, error) {
		return c.DeleteRoom(ctx, req)
	}, func(w io.Writer, _ *mcuv1.DeleteRoomResponse) error {
		_, err := fmt.Fprintf(w, "room %s deleted\n", req.GetId())
		return err
	}), nil
}

func participantsList(args []string) (action, error) {
	req := &mcuv1.ListParticipantsRequest{RoomId: args[0]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.ListParticipantsResponse, error) {
		return c.ListParticipants(ctx, req)
	}, func(w io.Writer, r *mcuv1.ListParticipantsResponse) error {
		return printParticipants(w, r.GetParticipants())
	}), nil
}

// participantUpdate is the setup of the commands that are one
// UpdateParticipant call.
func participantUpdate(verb string) func(*flag.FlagSet) func([]string) (action, error) {
	return func(*flag.FlagSet) func([]string) (action, error) {
		return func(args []string) (action, error) {
			req := &mcuv1.UpdateParticipantRequest{RoomId: args[0], Id: args[1]}
			var done func(p *mcuv1.Participant) string
			switch verb {
			case "mute", "unmute":
				req.MuteAudio = proto.Bool(verb == "mute")
				done = func(*mcuv1.Participant) string { return "audio " + verb + "d" }
			case "mute-video", "unmute-video":
				req.MuteVideo = proto.Bool(verb == "mute-video")
				done = func(*mcuv1.Participant) string { return "video " + strings.TrimSuffix(verb, "-video") + "d" }
			case "pin", "unpin":
				req.Pinned = proto.Bool(verb == "pin")
				done = func(*mcuv1.Participant) string { return verb + "ned" }
			case "gain":
				g, err := parseGain(args[2])
				if err != nil {
					return nil, err
				}
				req.GainDb = proto.Float64(g)
				done = func(p *mcuv1.Participant) string { return fmt.Sprintf("gain %+.1f dB", p.GetGainDb()) }
			case "rename":
				req.DisplayName = proto.String(args[2])
				done = func(p *mcuv1.Participant) string { return fmt.Sprintf("renamed to %q", p.GetName()) }
			}
			return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Participant, error) {
				return c.UpdateParticipant(ctx, req)
			}, func(w io.Writer, p *mcuv1.Participant) error {
				who := "participant " + p.GetId()
				if p.GetName() != "" && verb != "rename" {
					who += fmt.Sprintf(" (%s)", p.GetName())
				}
				_, err := fmt.Fprintf(w, "%s %s\n", who, done(p))
				return err
			}), nil
		}
	}
}

func participantRemove(args []string) (action, error) {
	req := &mcuv1.RemoveParticipantRequest{RoomId: args[0], Id: args[1]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.RemoveParticipantResponse, error) {
		return c.RemoveParticipant(ctx, req)
	}, func(w io.Writer, _ *mcuv1.RemoveParticipantResponse) error {
		_, err := fmt.Fprintf(w, "participant %s removed from %s\n", req.GetId(), req.GetRoomId())
		return err
	}), nil
}

func layoutShowShare(args []string) (action, error) {
	req := &mcuv1.ShowPresentationRequest{RoomId: args[0]}
	if len(args) > 1 {
		req.ParticipantId = args[1]
	}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.ShowPresentationResponse, error) {
		return c.ShowPresentation(ctx, req)
	}, func(w io.Writer, _ *mcuv1.ShowPresentationResponse) error {
		who := "the latest share"
		if req.GetParticipantId() != "" {
			who = req.GetParticipantId() + "'s share"
		}
		_, err := fmt.Fprintf(w, "%s shows %s\n", req.GetRoomId(), who)
		return err
	}), nil
}

func viewerFlag(fs *flag.FlagSet) *string {
	return fs.String("viewer", "", "participant `ID` whose personal layout (override) is meant")
}

// layoutTarget names whose layout a command concerns.
func layoutTarget(roomID, viewer string) string {
	if viewer == "" {
		return "layout of " + roomID
	}
	return "layout of " + viewer + " in " + roomID
}

func layoutGet(fs *flag.FlagSet) func([]string) (action, error) {
	viewer := viewerFlag(fs)
	return func(args []string) (action, error) {
		req := &mcuv1.GetLayoutRequest{RoomId: args[0], ViewerId: *viewer}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Layout, error) {
			return c.GetLayout(ctx, req)
		}, printLayout), nil
	}
}

func layoutSet(fs *flag.FlagSet) func([]string) (action, error) {
	viewer := viewerFlag(fs)
	var regions regionList
	fs.Var(&regions, "region", "a custom layout's `REGION`, "+regionSyntax+" (repeat the flag for each region)")
	return func(args []string) (action, error) {
		t, ok := parseLayoutType(args[1])
		if !ok {
			return nil, fmt.Errorf("layout %q: grid, speaker, pip, presentation or custom", args[1])
		}
		switch {
		case t == mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM && len(regions) == 0:
			return nil, errors.New("a custom layout needs --region (one per region)")
		case t != mcuv1.LayoutType_LAYOUT_TYPE_CUSTOM && len(regions) > 0:
			return nil, fmt.Errorf("--region is for custom layouts, not %s", args[1])
		}
		req := &mcuv1.SetLayoutRequest{RoomId: args[0], ViewerId: *viewer, Layout: &mcuv1.Layout{Type: t, Regions: regions}}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Layout, error) {
			return c.SetLayout(ctx, req)
		}, func(w io.Writer, l *mcuv1.Layout) error {
			_, err := fmt.Fprintf(w, "%s set to %s\n", layoutTarget(req.GetRoomId(), req.GetViewerId()), layoutText(l))
			return err
		}), nil
	}
}

func layoutClear(fs *flag.FlagSet) func([]string) (action, error) {
	viewer := viewerFlag(fs)
	return func(args []string) (action, error) {
		if *viewer == "" {
			return nil, errors.New("--viewer is required (the room's own layout cannot be cleared)")
		}
		req := &mcuv1.SetLayoutRequest{RoomId: args[0], ViewerId: *viewer, Layout: &mcuv1.Layout{}}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Layout, error) {
			return c.SetLayout(ctx, req)
		}, func(w io.Writer, _ *mcuv1.Layout) error {
			_, err := fmt.Fprintf(w, "layout override of %s in %s removed; it sees the room's layout\n", req.GetViewerId(), req.GetRoomId())
			return err
		}), nil
	}
}

func legsCreate(fs *flag.FlagSet) func([]string) (action, error) {
	name := fs.String("name", "", "the leg's display `name` (default \"RTP <ip:port>\")")
	return func(args []string) (action, error) {
		req := &mcuv1.CreateRTPLegRequest{RoomId: args[0], Remote: args[1], Codec: args[2], Name: *name}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.RTPLeg, error) {
			return c.CreateRTPLeg(ctx, req)
		}, func(w io.Writer, l *mcuv1.RTPLeg) error {
			_, err := fmt.Fprintf(w, "leg %s joined %s; the device should send RTP to %s\n", l.GetId(), req.GetRoomId(), l.GetLocal())
			return err
		}), nil
	}
}

func legsDelete(args []string) (action, error) {
	req := &mcuv1.DeleteRTPLegRequest{RoomId: args[0], Id: args[1]}
	return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.DeleteRTPLegResponse, error) {
		return c.DeleteRTPLeg(ctx, req)
	}, func(w io.Writer, _ *mcuv1.DeleteRTPLegResponse) error {
		_, err := fmt.Fprintf(w, "leg %s deleted from %s\n", req.GetId(), req.GetRoomId())
		return err
	}), nil
}

// events streams until ctx ends (Ctrl-C), which is a success; the server
// ending the stream with an error (a subscriber that fell too far behind,
// a shutdown) is not.
func events(args []string) (action, error) {
	req := &mcuv1.StreamEventsRequest{}
	if len(args) == 1 {
		req.RoomId = args[0]
	}
	return func(ctx context.Context, a *app) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := a.client.StreamEvents(ctx, req)
		for err == nil {
			var ev *mcuv1.Event
			if ev, err = stream.Recv(); err != nil {
				break
			}
			if a.json {
				err = writeJSON(a.out, ev)
			} else {
				_, err = io.WriteString(a.out, eventLine(ev)+"\n")
			}
		}
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			return nil
		}
		return err
	}, nil
}

// tokenCreate sends only the flags given, so the server's defaults (an
// hour; publish and subscribe) apply to the rest; the ttl and grants are
// checked here first, as usage errors.
func tokenCreate(fs *flag.FlagSet) func([]string) (action, error) {
	roomFlag := fs.String("room", "", "the `room` the token admits to, or \"*\" for every room (required)")
	identity := fs.String("identity", "", "who joins with the token, `ID` (required)")
	name := fs.String("name", "", "display `name` (default: the one the join gives)")
	ttl := fs.Duration("ttl", 0, "how long the token is valid, `DURATION`, 1s to 8784h (default 1h)")
	grants := fs.String("grants", "", "what the token allows, a `list` of "+auth.GrantNames+" (default publish,subscribe)")
	return func([]string) (action, error) {
		if *roomFlag == "" || *identity == "" {
			return nil, errors.New("--room and --identity are required")
		}
		req := &mcuv1.CreateTokenRequest{Room: *roomFlag, Identity: *identity, Name: *name}
		var err error
		fs.Visit(func(f *flag.Flag) {
			switch {
			case err != nil:
			case f.Name == "ttl":
				if err = auth.CheckTTL(*ttl); err == nil {
					req.Ttl = durationpb.New(*ttl)
				}
			case f.Name == "grants":
				var g auth.Grants
				if g, err = auth.ParseGrants(*grants); err == nil {
					req.Grants = api.GrantsToProto(g)
				}
			}
		})
		if err != nil {
			return nil, err
		}
		return unary(func(ctx context.Context, c mcuv1.MCUClient) (*mcuv1.Token, error) {
			return c.CreateToken(ctx, req)
		}, func(w io.Writer, t *mcuv1.Token) error {
			_, err := fmt.Fprintln(w, t.GetToken()) // the token alone, for $(mcuctl token create ...)
			return err
		}), nil
	}
}
