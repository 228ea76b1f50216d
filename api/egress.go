package api

import (
	"context"
	"errors"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/egress"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Egresses is what the API needs of the recordings (*egress.Manager).
type Egresses interface {
	Start(req egress.Request) (egress.Info, error)
	Stop(id string) (egress.Info, error)
	List(room media.RoomID) []egress.Info
}

// SetEgress gives the API its recordings (none: the egress calls answer
// UNIMPLEMENTED). Called before serving.
func (s *Server) SetEgress(e Egresses) { s.egress = e }

// StartEgress implements mcuv1.MCUServer.
func (s *Server) StartEgress(_ context.Context, req *mcuv1.StartEgressRequest) (*mcuv1.Egress, error) {
	if s.egress == nil {
		return nil, status.Error(codes.Unimplemented, "this server records nothing")
	}
	id, err := roomID(req.GetRoomId())
	if err != nil {
		return nil, toStatus(err)
	}
	r := egress.Request{Room: id}
	switch {
	case req.GetFile() != nil:
		if r.Format, err = egress.ParseFormat(req.GetFile().GetFormat()); err != nil {
			return nil, egressStatus(err)
		}
		r.Path = req.GetFile().GetPath()
	case req.GetStream() != nil:
		r.Format, r.URL = egress.FormatRTMP, req.GetStream().GetUrl()
	default:
		return nil, status.Error(codes.InvalidArgument, "no output: give a file or a stream")
	}
	info, err := s.egress.Start(r)
	if err != nil {
		return nil, egressStatus(err)
	}
	return egressToProto(info), nil
}

// StopEgress implements mcuv1.MCUServer.
func (s *Server) StopEgress(_ context.Context, req *mcuv1.StopEgressRequest) (*mcuv1.Egress, error) {
	if s.egress == nil {
		return nil, status.Error(codes.Unimplemented, "this server records nothing")
	}
	info, err := s.egress.Stop(req.GetEgressId())
	if err != nil {
		return nil, egressStatus(err)
	}
	return egressToProto(info), nil
}

// ListEgress implements mcuv1.MCUServer.
func (s *Server) ListEgress(_ context.Context, req *mcuv1.ListEgressRequest) (*mcuv1.ListEgressResponse, error) {
	if s.egress == nil {
		return &mcuv1.ListEgressResponse{}, nil
	}
	var filter media.RoomID
	if req.GetRoomId() != "" {
		id, err := roomID(req.GetRoomId())
		if err != nil {
			return nil, toStatus(err)
		}
		filter = id
	}
	out := &mcuv1.ListEgressResponse{}
	for _, in := range s.egress.List(filter) {
		out.Egress = append(out.Egress, egressToProto(in))
	}
	return out, nil
}

// egressStatus maps egress errors (and the room errors of its join) to
// gRPC codes.
func egressStatus(err error) error {
	switch {
	case errors.Is(err, egress.ErrBadRequest):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, egress.ErrUnknown):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, egress.ErrExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, egress.ErrUnwritable):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, egress.ErrClosed):
		return status.Error(codes.Unavailable, err.Error())
	}
	return toStatus(err)
}

func egressToProto(in egress.Info) *mcuv1.Egress {
	st := mcuv1.EgressStatus_EGRESS_STATUS_ENDED
	switch {
	case in.Active:
		st = mcuv1.EgressStatus_EGRESS_STATUS_ACTIVE
	case in.Err != "":
		st = mcuv1.EgressStatus_EGRESS_STATUS_FAILED
	}
	out := &mcuv1.Egress{Id: in.ID, RoomId: string(in.Room), Status: st, Path: in.Path,
		Duration: durationpb.New(in.Duration), Bytes: uint64(max(in.Bytes, 0)), Error: in.Err,
		Connected: in.Connected, Retries: uint32(max(in.Retries, 0))}
	if in.Format == egress.FormatRTMP {
		out.Output = &mcuv1.Egress_Stream{Stream: &mcuv1.StreamOutput{Url: in.URL}}
	} else {
		out.Output = &mcuv1.Egress_File{File: &mcuv1.FileOutput{Format: in.Format.String()}}
	}
	if !in.Started.IsZero() {
		out.Started = timestamppb.New(in.Started)
	}
	return out
}

// egressEventToProto is the egress of an event.
func egressEventToProto(ev room.Event) *mcuv1.Egress {
	r := ev.Egress
	format := egress.FormatRTMP
	if r.Format != format.String() {
		format, _ = egress.ParseFormat(r.Format)
	}
	return egressToProto(egress.Info{ID: r.ID, Room: ev.Room, Format: format, Path: r.Path, URL: r.URL, Connected: r.Connected, Retries: r.Retries,
		Started: r.Started, Duration: r.Duration, Bytes: r.Bytes, Active: r.Active, Err: r.Err})
}

// autoRecord starts the recording a room created with auto_record asks
// for; if it cannot, the room is deleted again (nothing is left of the
// failed call).
func (s *Server) autoRecord(id media.RoomID) error {
	_, err := s.egress.Start(egress.Request{Room: id, Format: egress.FormatWebM})
	if err != nil {
		_ = s.rooms.DeleteRoom(id)
		return egressStatus(err)
	}
	return nil
}
