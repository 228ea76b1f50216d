package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/cluster"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/internal/selfcpu"
	"github.com/mcu-project/mcu/internal/testkit/pionclient"
	"github.com/mcu-project/mcu/room"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// startLocalNATS runs a NATS server with JetStream in the test process,
// on a loopback port.
func startLocalNATS(t *testing.T) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("NATS did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// startClusterServers runs one in-process server per id on ns, and waits
// until each lists them all.
func startClusterServers(t *testing.T, ns *server.Server, ids ...string) map[string]*testServer {
	t.Helper()
	out := map[string]*testServer{}
	for _, id := range ids {
		out[id] = startServer(t, func(c *Config) { c.NATS, c.NodeID = []string{ns.ClientURL()}, id })
	}
	for _, s := range out {
		g := dial(t, s)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			res, err := g.ListNodes(context.Background(), &mcuv1.ListNodesRequest{})
			if err == nil && len(res.GetNodes()) == len(ids) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("nodes listed: %v %v", res, err)
			}
		}
	}
	return out
}

// TestRouting: two nodes in this process (so -race watches the routing
// code): gRPC calls about a room run on its node, ListRooms and events
// cover both, a join and a leave through one node reach the room on the
// other, and without NATS routing answers 503 and Unavailable.
func TestRouting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers and a WebRTC client")
	}
	ns := startLocalNATS(t)
	nodes := startClusterServers(t, ns, "a", "b")
	a, b := dial(t, nodes["a"]), dial(t, nodes["b"])
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A room created through b stays on b (it was idle: no hop), and a
	// answers for it.
	if _, err := b.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "r"}); code(err) != codes.AlreadyExists {
		t.Fatalf("creating r again through a: %v", err)
	}
	if r, err := a.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "r"}); err != nil || r.GetId() != "r" {
		t.Fatalf("room r through a: %v %v", r, err)
	}
	five := uint32(5)
	if r, err := a.UpdateRoom(ctx, &mcuv1.UpdateRoomRequest{Id: "r", MaxParticipants: &five}); err != nil || r.GetOptions().GetMaxParticipants() != 5 {
		t.Fatalf("updating r through a: %v %v", r, err)
	}
	if _, err := a.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "none"}); code(err) != codes.NotFound {
		t.Fatalf("an unknown room through a: %v", err)
	}
	if _, err := a.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "mine"}); err != nil {
		t.Fatal(err)
	}
	var trailer metadata.MD
	rooms, err := b.ListRooms(ctx, &mcuv1.ListRoomsRequest{}, grpc.Trailer(&trailer))
	if err != nil || len(rooms.GetRooms()) != 2 || rooms.GetRooms()[0].GetNode() != "a" || rooms.GetRooms()[1].GetNode() != "b" || len(trailer.Get(unreachableTrailer)) != 0 {
		t.Fatalf("rooms listed by b: %v %v (trailer %v)", rooms, err, trailer)
	}

	// Events of b's rooms reach a's stream.
	events, err := a.StreamEvents(ctx, &mcuv1.StreamEventsRequest{RoomId: "r"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the stream's subscription reaches NATS

	// A join through a lands on b; its Location leaves through a.
	httpc := &http.Client{}
	defer httpc.CloseIdleConnections()
	c, err := pionclient.Join(ctx, pionclient.Options{BaseURL: nodes["a"].URL, Room: "r", Name: "routed", RecvOnly: true, HTTP: httpc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Location, "/participants/b.") {
		t.Fatalf("Location %q: want a participant of b", c.Location)
	}
	for {
		ev, err := events.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetType() == mcuv1.EventType_EVENT_TYPE_PARTICIPANT_JOINED && ev.GetRoomId() == "r" {
			break
		}
	}
	if ps, err := a.ListParticipants(ctx, &mcuv1.ListParticipantsRequest{RoomId: "r"}); err != nil || len(ps.GetParticipants()) != 1 {
		t.Fatalf("participants of r through a: %v %v", ps, err)
	}
	if code, err := c.Leave(ctx); err != nil || code != http.StatusNoContent {
		t.Fatalf("leave through a: %d %v", code, err)
	}
	if _, err := a.DeleteRoom(ctx, &mcuv1.DeleteRoomRequest{Id: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "r"}); code(err) != codes.NotFound {
		t.Fatalf("r after its deletion through a: %v", err)
	}

	// Without NATS a cannot route: 503 with Retry-After, Unavailable.
	if _, err := b.CreateRoom(ctx, &mcuv1.CreateRoomRequest{Id: "r2"}); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	for deadline := time.Now().Add(5 * time.Second); nodes["a"].metric(t, "mcu_cluster_connected") != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a still says it is connected")
		}
	}
	res, err := httpc.Post(nodes["a"].URL+"/rooms/r2/join", "application/sdp", strings.NewReader("v=0"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "cluster unreachable") {
		t.Fatalf("a join routed without NATS: %d %q", res.StatusCode, body)
	}
	if _, err := a.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "r2"}); code(err) != codes.Unavailable {
		t.Fatalf("room r2 through a without NATS: %v", err)
	}
	if r, err := a.GetRoom(ctx, &mcuv1.GetRoomRequest{Id: "mine"}); err != nil || r.GetId() != "mine" {
		t.Fatalf("a's own room without NATS: %v %v", r, err)
	}
}

// TestRoutedHere: only a request carrying the cluster's route key counts
// as routed by a node (served here, as from the forwarded address); a
// client's own headers are dropped.
func TestRoutedHere(t *testing.T) {
	node, err := cluster.New(cluster.Config{ID: "n", Sample: func() cluster.Load { return cluster.Load{} }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	rt := &router{node: node}
	for _, tc := range []struct {
		name, key, from string
		routed          bool
		remote          string
	}{
		{"routed", node.RouteKey(), "203.0.113.9", true, "203.0.113.9:0"},
		{"routed, IPv6", node.RouteKey(), "2001:db8::1", true, "[2001:db8::1]:0"},
		{"a wrong key", "guess", "203.0.113.9", false, "192.0.2.1:5000"},
		{"no key", "", "203.0.113.9", false, "192.0.2.1:5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/rooms/x/join", nil)
			r.RemoteAddr = "192.0.2.1:5000"
			r.Header.Set(routeKeyHeader, tc.key)
			r.Header.Set(forwardedForHeader, tc.from)
			if got := rt.routedHere(r); got != tc.routed || r.RemoteAddr != tc.remote {
				t.Errorf("routed %v from %s, want %v from %s", got, r.RemoteAddr, tc.routed, tc.remote)
			}
			if r.Header.Get(routeKeyHeader) != "" || r.Header.Get(forwardedForHeader) != "" {
				t.Error("the routing headers reach the handlers")
			}
		})
	}
}

// TestLoadSamplerStartUp: a heartbeat that comes milliseconds after the
// one before it (NATS connecting at start-up) does not measure the burst
// between them as the node's CPU; a heartbeat a span later does.
func TestLoadSamplerStartUp(t *testing.T) {
	rooms, err := room.NewManager(room.Config{Registry: &codec.Registry{}, Defaults: room.DefaultOptions(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rooms.Close(); err != nil {
			t.Error(err)
		}
	}()
	s := &loadSampler{rooms: rooms, ticks: newTickMetrics(prometheus.NewRegistry()).lateness}
	burn := func(d time.Duration) {
		for end := selfcpu.Time() + d; selfcpu.Time() < end; {
		}
	}
	if l := s.sample(); l.CPU != 0 {
		t.Fatalf("first sample: CPU %.2f, want 0 (nothing to measure against)", l.CPU)
	}
	burn(30 * time.Millisecond)
	if l := s.sample(); l.CPU != 0 {
		t.Errorf("a sample right after a burst: CPU %.2f, want 0 (too short a span to measure)", l.CPU)
	}
	time.Sleep(minLoadSpan)
	burn(100 * time.Millisecond)
	if l := s.sample(); l.CPU <= 0 || l.CPU > 1 {
		t.Errorf("a sample %v later: CPU %.2f, want the burst measured", minLoadSpan, l.CPU)
	}
}
