// Package api serves the mcu.v1 gRPC control plane over the room layer.
package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Rooms is what the API needs of the room layer (*room.Manager has all but
// the leg methods, which the transport provides).
type Rooms interface {
	CreateRoom(id media.RoomID, opts room.Options) (*room.Room, error)
	Room(id media.RoomID) (*room.Room, error)
	Rooms() []media.RoomID
	DeleteRoom(id media.RoomID) error
	Leave(id media.RoomID, pid media.ParticipantID) error
	Defaults() room.Options
	CreateRTPLeg(id media.RoomID, remote, codec, name string) (media.ParticipantID, string, error)
}

// Server implements mcuv1.MCUServer.
type Server struct {
	mcuv1.UnimplementedMCUServer
	rooms  Rooms
	events *Broker
	tokens *auth.Authority // nil: auth is off, no tokens to mint
	egress Egresses        // nil: no recordings
	log    *slog.Logger
}

// NewServer returns the API over rooms, streaming events from events and
// minting join tokens with tokens (nil when the server runs without an
// auth secret).
func NewServer(rooms Rooms, events *Broker, tokens *auth.Authority, log *slog.Logger) *Server {
	return &Server{rooms: rooms, events: events, tokens: tokens, log: log.With("component", "api")}
}

// TokenInterceptors require "authorization: Bearer <token>" on every call.
func TokenInterceptors(token string) []grpc.ServerOption {
	check := func(ctx context.Context) error {
		md, _ := metadata.FromIncomingContext(ctx)
		for _, v := range md.Get("authorization") {
			if got, ok := strings.CutPrefix(v, "Bearer "); ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
				return nil
			}
		}
		return status.Error(codes.Unauthenticated, "missing or wrong bearer token")
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := check(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := check(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	}
}

// toStatus maps room errors to gRPC codes.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, room.ErrUnknownRoom), errors.Is(err, room.ErrUnknownParticipant):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, room.ErrRoomExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, room.ErrBadOptions), errors.Is(err, errBadArgument), errors.Is(err, auth.ErrBadClaims):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, room.ErrRoomFull):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, room.ErrClosed):
		return status.Error(codes.Unavailable, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

var errBadArgument = errors.New("bad argument")

func badArg(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadArgument, fmt.Sprintf(format, args...))
}

func roomID(id string) (media.RoomID, error) {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/ \t\n") {
		return "", badArg("room id %q: 1-64 characters, no spaces or slashes", id)
	}
	return media.RoomID(id), nil
}

func (s *Server) room(id string) (*room.Room, error) {
	rid, err := roomID(id)
	if err != nil {
		return nil, err
	}
	return s.rooms.Room(rid)
}

// CreateRoom implements mcuv1.MCUServer.
func (s *Server) CreateRoom(_ context.Context, req *mcuv1.CreateRoomRequest) (*mcuv1.Room, error) {
	id, err := roomID(req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	opts, err := optionsFromProto(s.rooms.Defaults(), req.GetOptions())
	if err != nil {
		return nil, toStatus(err)
	}
	if opts.AutoRecord && s.egress == nil {
		return nil, status.Error(codes.FailedPrecondition, "auto_record: this server records nothing")
	}
	r, err := s.rooms.CreateRoom(id, opts)
	if err != nil {
		return nil, toStatus(err)
	}
	if opts.AutoRecord {
		if err := s.autoRecord(id); err != nil {
			return nil, err
		}
	}
	return roomToProto(r.Info()), nil
}

// GetRoom implements mcuv1.MCUServer.
func (s *Server) GetRoom(_ context.Context, req *mcuv1.GetRoomRequest) (*mcuv1.Room, error) {
	r, err := s.room(req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return roomToProto(r.Info()), nil
}

// ListRooms implements mcuv1.MCUServer.
func (s *Server) ListRooms(context.Context, *mcuv1.ListRoomsRequest) (*mcuv1.ListRoomsResponse, error) {
	out := &mcuv1.ListRoomsResponse{}
	for _, id := range s.rooms.Rooms() {
		if r, err := s.rooms.Room(id); err == nil { // it may have just gone
			out.Rooms = append(out.Rooms, roomToProto(r.Info()))
		}
	}
	return out, nil
}

// UpdateRoom implements mcuv1.MCUServer.
func (s *Server) UpdateRoom(_ context.Context, req *mcuv1.UpdateRoomRequest) (*mcuv1.Room, error) {
	r, err := s.room(req.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	var u room.Update
	if req.ExcludeSelf != nil {
		u.ExcludeSelf = req.ExcludeSelf
	}
	if req.DeleteWhenEmpty != nil {
		keep := !req.GetDeleteWhenEmpty()
		u.KeepWhenEmpty = &keep
	}
	if req.MaxParticipants != nil {
		v := int(req.GetMaxParticipants())
		u.MaxParticipants = &v
	}
	if req.MaxSpeakers != nil {
		v := int(req.GetMaxSpeakers())
		u.MaxSpeakers = &v
	}
	if err := r.UpdateOptions(u); err != nil {
		return nil, toStatus(err)
	}
	return roomToProto(r.Info()), nil
}

// DeleteRoom implements mcuv1.MCUServer.
func (s *Server) DeleteRoom(_ context.Context, req *mcuv1.DeleteRoomRequest) (*mcuv1.DeleteRoomResponse, error) {
	id, err := roomID(req.GetId())
	if err == nil {
		err = s.rooms.DeleteRoom(id)
	}
	return &mcuv1.DeleteRoomResponse{}, toStatus(err)
}

// ListParticipants implements mcuv1.MCUServer.
func (s *Server) ListParticipants(_ context.Context, req *mcuv1.ListParticipantsRequest) (*mcuv1.ListParticipantsResponse, error) {
	r, err := s.room(req.GetRoomId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &mcuv1.ListParticipantsResponse{}
	for _, p := range r.Participants() {
		out.Participants = append(out.Participants, participantToProto(p))
	}
	return out, nil
}

// UpdateParticipant implements mcuv1.MCUServer.
func (s *Server) UpdateParticipant(_ context.Context, req *mcuv1.UpdateParticipantRequest) (*mcuv1.Participant, error) {
	r, err := s.room(req.GetRoomId())
	if err != nil {
		return nil, toStatus(err)
	}
	if req.DisplayName != nil && (len(req.GetDisplayName()) > 64 || strings.ContainsAny(req.GetDisplayName(), "\x00\n\r")) {
		return nil, toStatus(badArg("display name: at most 64 characters, one line"))
	}
	id := media.ParticipantID(req.GetId())
	u := room.ParticipantUpdate{MuteAudio: req.MuteAudio, MuteVideo: req.MuteVideo, Pinned: req.Pinned, GainDB: req.GainDb, Name: req.DisplayName}
	if err := r.UpdateParticipant(id, u); err != nil {
		return nil, toStatus(err)
	}
	for _, p := range r.Participants() {
		if p.ID == id {
			return participantToProto(p), nil
		}
	}
	return nil, status.Error(codes.NotFound, "participant left")
}

// RemoveParticipant implements mcuv1.MCUServer.
func (s *Server) RemoveParticipant(_ context.Context, req *mcuv1.RemoveParticipantRequest) (*mcuv1.RemoveParticipantResponse, error) {
	id, err := roomID(req.GetRoomId())
	if err == nil {
		err = s.rooms.Leave(id, media.ParticipantID(req.GetId()))
	}
	return &mcuv1.RemoveParticipantResponse{}, toStatus(err)
}

// SetLayout implements mcuv1.MCUServer.
func (s *Server) SetLayout(_ context.Context, req *mcuv1.SetLayoutRequest) (*mcuv1.Layout, error) {
	r, err := s.room(req.GetRoomId())
	if err != nil {
		return nil, toStatus(err)
	}
	l, err := layoutFromProto(req.GetLayout())
	if err != nil {
		return nil, toStatus(err)
	}
	viewer := media.ParticipantID(req.GetViewerId())
	if viewer == "" && l.Type == room.LayoutUnknown {
		return nil, toStatus(badArg("the room's layout needs a type"))
	}
	if err := r.SetLayout(viewer, l); err != nil {
		return nil, toStatus(err)
	}
	got, err := r.Layout(viewer)
	return layoutToProto(got), toStatus(err)
}

// GetLayout implements mcuv1.MCUServer.
func (s *Server) GetLayout(_ context.Context, req *mcuv1.GetLayoutRequest) (*mcuv1.Layout, error) {
	r, err := s.room(req.GetRoomId())
	if err != nil {
		return nil, toStatus(err)
	}
	l, err := r.Layout(media.ParticipantID(req.GetViewerId()))
	if err != nil {
		return nil, toStatus(err)
	}
	return layoutToProto(l), nil
}

// ShowPresentation implements mcuv1.MCUServer.
func (s *Server) ShowPresentation(_ context.Context, req *mcuv1.ShowPresentationRequest) (*mcuv1.ShowPresentationResponse, error) {
	r, err := s.room(req.GetRoomId())
	if err == nil {
		err = r.ShowPresentation(media.ParticipantID(req.GetParticipantId()))
	}
	return &mcuv1.ShowPresentationResponse{}, toStatus(err)
}

// CreateRTPLeg implements mcuv1.MCUServer.
func (s *Server) CreateRTPLeg(_ context.Context, req *mcuv1.CreateRTPLegRequest) (*mcuv1.RTPLeg, error) {
	id, err := roomID(req.GetRoomId())
	if err != nil {
		return nil, toStatus(err)
	}
	pid, local, err := s.rooms.CreateRTPLeg(id, req.GetRemote(), req.GetCodec(), req.GetName())
	if err != nil {
		return nil, toStatus(err)
	}
	return &mcuv1.RTPLeg{Id: string(pid), Local: local}, nil
}

// DeleteRTPLeg implements mcuv1.MCUServer.
func (s *Server) DeleteRTPLeg(ctx context.Context, req *mcuv1.DeleteRTPLegRequest) (*mcuv1.DeleteRTPLegResponse, error) {
	_, err := s.RemoveParticipant(ctx, &mcuv1.RemoveParticipantRequest{RoomId: req.GetRoomId(), Id: req.GetId()})
	return &mcuv1.DeleteRTPLegResponse{}, err
}

// StreamEvents implements mcuv1.MCUServer.
func (s *Server) StreamEvents(req *mcuv1.StreamEventsRequest, stream grpc.ServerStreamingServer[mcuv1.Event]) error {
	var filter media.RoomID
	if req.GetRoomId() != "" {
		id, err := roomID(req.GetRoomId())
		if err != nil {
			return toStatus(err)
		}
		filter = id
	}
	sub := s.events.Subscribe(filter)
	defer s.events.Unsubscribe(sub)
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case ev, ok := <-sub.C:
			if !ok {
				return status.Error(codes.ResourceExhausted, "event stream fell too far behind")
			}
			if err := stream.Send(eventToProto(ev)); err != nil {
				return err
			}
		}
	}
}

func eventToProto(ev room.Event) *mcuv1.Event {
	types := map[room.EventType]mcuv1.EventType{
		room.EventRoomCreated: mcuv1.EventType_EVENT_TYPE_ROOM_CREATED, room.EventRoomDeleted: mcuv1.EventType_EVENT_TYPE_ROOM_DELETED,
		room.EventJoined: mcuv1.EventType_EVENT_TYPE_PARTICIPANT_JOINED, room.EventLeft: mcuv1.EventType_EVENT_TYPE_PARTICIPANT_LEFT,
		room.EventTalkingStarted: mcuv1.EventType_EVENT_TYPE_TALKING_STARTED, room.EventTalkingStopped: mcuv1.EventType_EVENT_TYPE_TALKING_STOPPED,
		room.EventLayoutChanged: mcuv1.EventType_EVENT_TYPE_LAYOUT_CHANGED, room.EventDTMF: mcuv1.EventType_EVENT_TYPE_DTMF,
		room.EventKeyFrameRequested: mcuv1.EventType_EVENT_TYPE_KEYFRAME_REQUESTED, room.EventActiveSpeakerChanged: mcuv1.EventType_EVENT_TYPE_ACTIVE_SPEAKER_CHANGED,
		room.EventRungChanged:         mcuv1.EventType_EVENT_TYPE_RUNG_CHANGED,
		room.EventPresentationStarted: mcuv1.EventType_EVENT_TYPE_PRESENTATION_STARTED,
		room.EventPresentationStopped: mcuv1.EventType_EVENT_TYPE_PRESENTATION_STOPPED,
		room.EventParticipantUpdated:  mcuv1.EventType_EVENT_TYPE_PARTICIPANT_UPDATED,
		room.EventEgressStarted:       mcuv1.EventType_EVENT_TYPE_EGRESS_STARTED, room.EventEgressUpdated: mcuv1.EventType_EVENT_TYPE_EGRESS_UPDATED,
		room.EventEgressEnded: mcuv1.EventType_EVENT_TYPE_EGRESS_ENDED,
	}
	out := &mcuv1.Event{Type: types[ev.Type], Time: timestamppb.New(ev.At), RoomId: string(ev.Room), ParticipantId: string(ev.Participant), LevelDbov: ev.Level, ViewerId: string(ev.Viewer)}
	out.Rung, out.FromRung, out.EstimateBps = int32(ev.Rung), int32(ev.FromRung), uint64(max(ev.EstimateBps, 0))
	if ev.Digit != 0 {
		out.Digit = string(ev.Digit)
	}
	if ev.Egress != nil {
		out.Egress = egressEventToProto(ev)
	}
	return out
}
