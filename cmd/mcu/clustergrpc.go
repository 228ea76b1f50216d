package main

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/mcu-project/mcu/api"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/cluster"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// unreachableTrailer names, on a ListRooms answer, the nodes whose rooms
// are missing from it because they did not answer.
const unreachableTrailer = "mcu-unreachable-nodes"

// clusterAPI makes any node answer any gRPC call: a call about a room
// runs on the room's node, sent there over NATS request/reply (nodes need
// not reach each other's gRPC ports, which default to loopback), and
// ListRooms asks every node. Its interceptors run after the token check.
type clusterAPI struct {
	*api.Server // this node's own answers
	node        *cluster.Node
	rooms       *room.Manager
	log         *slog.Logger
}

// roomOf names the room a call is about and whether the call creates it;
// "" for calls about no room or every room.
func roomOf(method string, req any) (id string, create bool) {
	switch method {
	case mcuv1.MCU_CreateRoom_FullMethodName:
		return req.(*mcuv1.CreateRoomRequest).GetId(), true
	case mcuv1.MCU_GetRoom_FullMethodName, mcuv1.MCU_UpdateRoom_FullMethodName, mcuv1.MCU_DeleteRoom_FullMethodName:
		return req.(interface{ GetId() string }).GetId(), false
	}
	if r, ok := req.(interface{ GetRoomId() string }); ok {
		return r.GetRoomId(), false
	}
	return "", false
}

func (c *clusterAPI) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if info.FullMethod == mcuv1.MCU_ListRooms_FullMethodName {
		return c.listRooms(ctx, req, handler)
	}
	id, create := roomOf(info.FullMethod, req)
	if id == "" || len(id) > 64 {
		return handler(ctx, req) // no room, or one the API refuses itself
	}
	if _, err := c.rooms.Room(media.RoomID(id)); err == nil {
		return handler(ctx, req)
	}
	home, err := c.node.Home(ctx, media.RoomID(id), create)
	switch {
	case errors.Is(err, cluster.ErrNoRoom):
		return handler(ctx, req) // NotFound, in the API's words
	case err != nil:
		return nil, status.Errorf(codes.Unavailable, "cannot route the call to room %s's node: %v", id, err)
	case home.ID == c.node.ID():
		return handler(ctx, req)
	}
	return c.forward(ctx, home.ID, info.FullMethod, req)
}

// stream makes StreamEvents carry every node's events while it runs.
func (c *clusterAPI) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod == mcuv1.MCU_StreamEvents_FullMethodName {
		stop, err := c.node.WatchEvents()
		if err != nil {
			return status.Errorf(codes.Unavailable, "cluster events: %v", err)
		}
		defer stop()
	}
	return handler(srv, ss)
}

// forward runs a unary call on another node and returns its answer.
func (c *clusterAPI) forward(ctx context.Context, node, method string, req any) (any, error) {
	body, err := proto.Marshal(req.(proto.Message))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	out, err := c.node.Request(ctx, node, method, body)
	var re *cluster.RemoteError
	switch {
	case errors.As(err, &re):
		return nil, status.Error(codes.Code(re.Code), re.Message)
	case err != nil:
		return nil, status.Errorf(codes.Unavailable, "node %s: %v", node, err)
	}
	resp, err := newResponse(method)
	if err == nil {
		err = proto.Unmarshal(out, resp)
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "node %s's answer: %v", node, err)
	}
	return resp, nil
}

// newResponse makes an empty response message of a unary method.
func newResponse(method string) (proto.Message, error) {
	name := strings.TrimPrefix(method[strings.LastIndex(method, "/"):], "/")
	m := mcuv1.File_api_mcu_v1_mcu_proto.Services().ByName("MCU").Methods().ByName(protoreflect.Name(name))
	if m == nil {
		return nil, status.Errorf(codes.Unimplemented, "unknown method %s", method)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(m.Output().FullName())
	if err != nil {
		return nil, err
	}
	return mt.New().Interface(), nil
}

// serve answers another node's forwarded call with this node's API: only
// calls about a room and ListRooms, which is what nodes forward (not
// tokens: a NATS client is no admin).
func (c *clusterAPI) serve(ctx context.Context, method string, body []byte) (out []byte, err error) {
	i := slices.IndexFunc(mcuv1.MCU_ServiceDesc.Methods, func(m grpc.MethodDesc) bool {
		return "/"+mcuv1.MCU_ServiceDesc.ServiceName+"/"+m.MethodName == method
	})
	if i < 0 {
		return nil, &cluster.RemoteError{Code: int(codes.Unimplemented), Message: "not served between nodes: " + method}
	}
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("forwarded gRPC call panicked", "method", method, "panic", v, "stack", string(debug.Stack()))
			out, err = nil, &cluster.RemoteError{Code: int(codes.Internal), Message: "internal error"}
		}
	}()
	var req proto.Message
	resp, err := mcuv1.MCU_ServiceDesc.Methods[i].Handler(c.Server, ctx, func(v any) error {
		req = v.(proto.Message)
		return proto.Unmarshal(body, req)
	}, func(ctx context.Context, r any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if id, _ := roomOf(method, r); id == "" && method != mcuv1.MCU_ListRooms_FullMethodName {
			return nil, status.Error(codes.PermissionDenied, "not served between nodes: "+method)
		}
		return h(ctx, r)
	})
	if err != nil {
		st := status.Convert(err)
		return nil, &cluster.RemoteError{Code: int(st.Code()), Message: st.Message()}
	}
	return proto.Marshal(resp.(proto.Message))
}

// listRooms lists every node's rooms, each marked with its node. Nodes
// that do not answer are named in a trailer, and the rooms of the others
// are listed all the same.
func (c *clusterAPI) listRooms(ctx context.Context, req any, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err != nil {
		return nil, err
	}
	out := resp.(*mcuv1.ListRoomsResponse)
	for _, r := range out.Rooms {
		r.Node = c.node.ID()
	}
	if !c.node.Connected() {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(unreachableTrailer, "*"))
		return out, nil
	}
	var (
		mu      sync.Mutex
		missing []string
		wg      sync.WaitGroup
	)
	for _, n := range c.node.Nodes() {
		if n.ID == c.node.ID() {
			continue
		}
		wg.Go(func() {
			got, err := c.forward(ctx, n.ID, mcuv1.MCU_ListRooms_FullMethodName, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				c.log.Warn("listing a node's rooms", "node", n.ID, "err", err)
				missing = append(missing, n.ID)
				return
			}
			for _, r := range got.(*mcuv1.ListRoomsResponse).Rooms {
				r.Node = n.ID
				out.Rooms = append(out.Rooms, r)
			}
		})
	}
	wg.Wait()
	slices.SortFunc(out.Rooms, func(a, b *mcuv1.Room) int { return strings.Compare(a.Id, b.Id) })
	if len(missing) > 0 {
		slices.Sort(missing)
		_ = grpc.SetTrailer(ctx, metadata.Pairs(unreachableTrailer, strings.Join(missing, ",")))
	}
	return out, nil
}

// ListNodes implements mcuv1.MCUServer.
func (c *clusterAPI) ListNodes(context.Context, *mcuv1.ListNodesRequest) (*mcuv1.ListNodesResponse, error) {
	if !c.node.Connected() {
		return nil, status.Error(codes.Unavailable, "cluster unreachable: NATS is disconnected")
	}
	out := &mcuv1.ListNodesResponse{}
	for _, n := range c.node.Nodes() {
		out.Nodes = append(out.Nodes, &mcuv1.Node{Id: n.ID, Url: n.URL, Stress: n.Stress, Cpu: n.Load.CPU,
			TickLatenessP99: durationpb.New(n.Load.TickP99), Participants: uint32(n.Load.Participants), Rooms: uint32(n.Load.Rooms),
			ParticipantCap: uint32(n.Load.Cap), Draining: n.Draining, Started: timestamppb.New(n.Started)})
	}
	return out, nil
}
