// Command mcu is the conference server: HTTP join API and web client,
// Prometheus metrics, and the rooms that mix every participant's audio.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mcu-project/mcu/api"
	"github.com/mcu-project/mcu/cluster"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/egress"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"github.com/mcu-project/mcu/web"
	"github.com/mcu-project/mcu/webapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "token" {
		os.Exit(tokenMain(os.Args[2:], os.Stdout, os.Stderr, os.Getenv))
	}
	cfg, err := loadConfig(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcu:", err)
		os.Exit(2)
	}
	log, err := cfg.logger()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcu:", err)
		os.Exit(2)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// A P for the audio clock while video encodes hold the others
		// (room/videoworkers.go); media work is still sized to cores.
		runtime.GOMAXPROCS(cores + 1)
	}
	// The first SIGTERM (or ^C) drains, a second one ends at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, drain := context.WithCancel(context.Background())
	stopNow := make(chan struct{})
	go func() {
		<-sigs
		drain()
		<-sigs
		close(stopNow)
	}()
	cfg.stopNow = stopNow
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("mcu stopped", "err", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds how long in-flight HTTP requests may take to finish.
const shutdownTimeout = 5 * time.Second

// listening is where a started server listens (nil: not at all).
type listening struct{ HTTP, GRPC, Admin net.Addr }

// cores is how many cores the media work may use: Go's default GOMAXPROCS
// (the machine's or the container's CPU limit), or GOMAXPROCS as the
// operator set it. main gives the scheduler one P more when the operator
// did not; tests run servers in-process without it.
var cores = runtime.GOMAXPROCS(0)

// run serves until ctx ends, drains, then closes every room and peer.
// ready, if set, is told where the server listens once it does.
func run(ctx context.Context, cfg Config, log *slog.Logger, ready func(listening)) error {
	var reg codec.Registry
	if err := errors.Join(opus.Register(&reg), g711.Register(&reg), vpx.Register(&reg), h264.Register(&reg)); err != nil {
		return err
	}
	prom := prometheus.NewRegistry()
	prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	defaults, err := cfg.roomDefaults()
	if err != nil {
		return err
	}
	if cfg.TURN && cfg.TURNSecret == "" {
		if cfg.TURNSecret, err = randomSecret(); err != nil {
			return err
		}
		log.Info("TURN: no -turn-secret, generated one: credentials handed out stop working when the server restarts")
	}
	door, err := cfg.frontDoor()
	if err != nil {
		return err
	}
	if door.Auth == nil {
		log.Warn("AUTH IS OFF: anyone who reaches the HTTP port can join any room (development mode); set -auth-secret before exposing this server", "http", cfg.HTTP)
	}
	events := api.NewBroker()
	logEv := logEvent(log)
	// The cluster node starts once the HTTP port is known, before any
	// request can reach the rooms.
	var node *cluster.Node
	onEvent := func(ev room.Event) { logEv(ev); events.Publish(ev); node.PublishEvent(encodeEvent(ev)) }
	ticks := newTickMetrics(prom)
	rooms, err := room.NewManager(room.Config{Registry: &reg, Defaults: defaults, Logger: log, Metrics: ticks, OnEvent: onEvent,
		MaxRooms: cfg.MaxRooms, MaxParticipants: cfg.MaxServerParticipants,
		IDPrefix: participantPrefix(cfg.nodeID()), Cores: cores, Claim: func(id media.RoomID) (func(), error) { return claimHome(node, id) }})
	if err != nil {
		return err
	}
	prom.MustRegister(newRoomCollector(rooms), newReceiverCollector(managerParticipants(rooms)))
	recorders, err := egress.NewManager(egress.Config{Host: egressHost{rooms}, Dir: cfg.RecordDir, Logger: log,
		OnEvent: func(ev egress.Event) { onEvent(egressEvent(ev)) }})
	if err != nil {
		return err
	}

	tc, err := cfg.transportConfig(log)
	if err != nil {
		return err
	}
	turnSrv, err := startTURN(cfg, &tc, log)
	if err != nil {
		return err
	}
	closeTURN := func() error { return nil }
	if turnSrv != nil {
		closeTURN = turnSrv.Close
		defer closeTURN() // on the early returns; Close is idempotent
		prom.MustRegister(turnMetrics(turnSrv)...)
	}
	eng, err := transport.NewEngine(tc)
	if err != nil {
		return err
	}
	prom.MustRegister(newTransportCollector(eng.Stats))
	if a := eng.ICETCPAddr(); a != nil {
		log.Info("ICE-TCP listening", "ice_tcp", a.String())
	}

	httpAPI := transport.NewServer(eng, roomsAdapter{rooms}, door)
	l := &listeners{}
	defer l.close()
	if err := l.listen(cfg); err != nil {
		_ = eng.Close()
		return err
	}
	capi := &clusterAPI{Server: api.NewServer(apiRooms{rooms, httpAPI}, events, door.Auth, log), rooms: rooms, log: log}
	capi.SetEgress(recorders)
	load := &loadSampler{rooms: rooms, ticks: ticks.lateness, cap: cfg.MaxServerParticipants}
	if node, err = startNode(cfg, l.http.Addr(), load.sample, capi.serve, remoteEvents(events, log), log); err != nil {
		_ = eng.Close()
		return err
	}
	capi.node = node
	prom.MustRegister(clusterCollectors(node)...)
	var grpcSrv *grpc.Server
	grpcDone := make(chan error, 1)
	if l.grpc != nil {
		if grpcSrv, err = newGRPCServer(cfg, capi, log); err != nil {
			_ = node.Close()
			_ = eng.Close()
			return err
		}
		go func() { grpcDone <- grpcSrv.Serve(l.grpc) }()
		if !isLoopback(l.grpc.Addr()) && cfg.GRPCToken == "" {
			log.Warn("gRPC listens beyond loopback without -grpc-token: whoever reaches it controls every room", "grpc", l.grpc.Addr().String())
		}
		log.Info("gRPC listening", "grpc", l.grpc.Addr().String())
	}
	page := webapi.New(webapi.Config{Rooms: rooms, Events: brokerEvents{events}, Authorize: httpAPI.Authorize})
	defer page.Close()
	routes := newRouter(node, rooms, door.Auth, publicMux(httpAPI, page), log)
	defer routes.close()
	srv := newHTTPServer(routes, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l.http) }()
	var admin *http.Server
	adminDone := make(chan error, 1)
	if l.admin != nil {
		admin = newHTTPServer(adminMux(prom, cfg.PProf), log)
		go func() { adminDone <- admin.Serve(l.admin) }()
		log.Info("admin listening (metrics)", "admin", l.admin.Addr().String())
	}
	log.Info("mcu listening", "http", l.http.Addr().String())
	if ready != nil {
		ready(l.addrs())
	}

	select {
	case <-ctx.Done():
		node.SetDraining(true) // no new rooms here
		drainRooms(httpAPI, rooms, cfg, log)
	case err = <-served:
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	page.Close() // event streams never end by themselves
	errs := []error{err, srv.Shutdown(sctx)}
	if err == nil {
		<-served // http.ErrServerClosed once Shutdown returned
	}
	if admin != nil {
		errs = append(errs, admin.Shutdown(sctx))
		<-adminDone
	}
	if grpcSrv != nil {
		// Event streams never end by themselves: give unary calls the
		// same grace, then cut the rest.
		stopped := make(chan struct{})
		go func() { grpcSrv.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-sctx.Done():
			grpcSrv.Stop()
			<-stopped
		}
		<-grpcDone
	}
	// The node leaves the cluster (its rooms' homes, its heartbeat) before
	// the rooms close; relayed peers are closed with the rooms, before
	// their relays. Recordings are finished (index, duration) first.
	errs = append(errs, recorders.Close(), node.Close(), rooms.Close(), eng.Close(), closeTURN())
	return errors.Join(errs...)
}

// startTURN starts the embedded TURN server when cfg asks for it and
// adds it to the ICE servers tc advertises.
func startTURN(cfg Config, tc *transport.Config, log *slog.Logger) (*transport.TURNServer, error) {
	if !cfg.TURN {
		return nil, nil
	}
	turnCfg, err := cfg.turnConfig(log)
	if err != nil {
		return nil, err
	}
	s, err := transport.NewTURNServer(turnCfg, *tc)
	if err != nil {
		return nil, err
	}
	ice := s.ICEServer()
	tc.ICEServers = append(slices.Clip(tc.ICEServers), ice)
	log.Info("TURN listening", "urls", strings.Join(ice.URLs, " "), "relay_ports", cfg.TURNRelayPorts, "allow_loopback", cfg.TURNAllowLoopback)
	return s, nil
}

// randomSecret is a TURN secret for this run alone.
func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// drainRooms refuses newcomers (readiness 503) and lets the rooms go on
// until they are empty, the drain timeout passes or a second signal
// comes.
func drainRooms(api *transport.Server, rooms *room.Manager, cfg Config, log *slog.Logger) {
	api.SetDraining(true)
	if cfg.DrainTimeout <= 0 {
		return
	}
	log.Info("draining: no new participants", "timeout", cfg.DrainTimeout, "participants", rooms.Stats().Participants)
	deadline := time.NewTimer(cfg.DrainTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for rooms.Stats().Participants > 0 {
		select {
		case <-deadline.C:
			log.Info("drain timed out", "participants", rooms.Stats().Participants)
			return
		case <-cfg.stopNow:
			return
		case <-poll.C:
		}
	}
}

// publicMux is what the public port serves: the page, the join API,
// /config, /healthz (liveness) and /readyz (readiness).
func publicMux(httpAPI *transport.Server, page *webapi.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	httpAPI.Register(mux)
	page.Register(mux)
	mux.HandleFunc("GET /healthz", healthz)
	web.Register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown path "+r.URL.Path, http.StatusNotFound)
	})
	return mux
}

// adminMux is what the admin port serves: metrics, and profiles when
// asked for.
func adminMux(prom *prometheus.Registry, withPProf bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(prom, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", healthz)
	if withPProf {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// newHTTPServer bounds every phase of a connection, so a client that
// stalls holds no goroutine for long.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// listeners are the server's sockets.
type listeners struct{ http, grpc, admin net.Listener }

func (l *listeners) listen(cfg Config) error {
	var err error
	if l.http, err = net.Listen("tcp", cfg.HTTP); err != nil {
		return err
	}
	if addr := cfg.grpcAddr(); addr != "" {
		if l.grpc, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("gRPC: %w", err)
		}
	}
	if cfg.AdminHTTP != "" {
		if l.admin, err = net.Listen("tcp", cfg.AdminHTTP); err != nil {
			return fmt.Errorf("admin: %w", err)
		}
	}
	return nil
}

func (l *listeners) addrs() listening {
	var a listening
	a.HTTP = l.http.Addr()
	if l.grpc != nil {
		a.GRPC = l.grpc.Addr()
	}
	if l.admin != nil {
		a.Admin = l.admin.Addr()
	}
	return a
}

// close closes the listeners no server took over (a server closes its own).
func (l *listeners) close() {
	for _, ln := range []net.Listener{l.http, l.grpc, l.admin} {
		if ln != nil {
			_ = ln.Close()
		}
	}
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// logEvent logs the room events an operator wants to see; the gRPC event
// feed will carry all of them.
func logEvent(log *slog.Logger) func(room.Event) {
	return func(ev room.Event) {
		switch ev.Type {
		case room.EventDTMF:
			log.Info("DTMF", "room", ev.Room, "participant", ev.Participant, "key", string(ev.Digit))
		case room.EventTalkingStarted, room.EventTalkingStopped:
			log.Debug("talking", "room", ev.Room, "participant", ev.Participant, "event", ev.Type.String(), "level", ev.Level)
		}
	}
}

// roomsAdapter lets the transport's HTTP API drive the room manager, mapping
// room errors to the transport's status-bearing sentinels.
type roomsAdapter struct{ m *room.Manager }

func (a roomsAdapter) Join(id media.RoomID, req transport.JoinRequest) (media.ParticipantID, error) {
	pid, err := a.m.Join(id, room.JoinParams{
		Name: req.Name, Identity: req.Identity, Hidden: req.Hidden, Peer: req.Peer,
		RecvAudioCodec: req.RecvAudioCodec, SendAudioCodec: req.SendAudioCodec, SendAudioClockRate: req.SendAudioClockRate,
		RecvVideoCodec: req.RecvVideoCodec, SendVideoCodec: req.SendVideoCodec,
		MustExist: req.MustExist, Kind: req.Kind, Ready: req.Ready,
	})
	return pid, mapRoomErr(err)
}

func (a roomsAdapter) VideoCodecs(id media.RoomID) []string { return a.m.VideoCodecs(id) }

func (a roomsAdapter) Fail(id media.RoomID, pid media.ParticipantID, cause error) error {
	return mapRoomErr(a.m.Fail(id, pid, cause))
}

func (a roomsAdapter) Identity(id media.RoomID, pid media.ParticipantID) (string, error) {
	who, err := a.m.Identity(id, pid)
	return who, mapRoomErr(err)
}

func (a roomsAdapter) Leave(id media.RoomID, pid media.ParticipantID) error {
	return mapRoomErr(a.m.Leave(id, pid))
}

func mapRoomErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, room.ErrUnknownRoom), errors.Is(err, room.ErrUnknownParticipant):
		return kindError{transport.ErrNotFound, err}
	case errors.Is(err, room.ErrRoomFull):
		return kindError{transport.ErrRoomFull, err}
	case errors.Is(err, room.ErrClosed), errors.Is(err, room.ErrServerFull):
		return kindError{transport.ErrUnavailable, err}
	}
	return err
}

// kindError marks err with a transport sentinel (for the status code)
// while its message stays err's own, so clients read one reason, not two.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }

// brokerEvents lets the page's event streams subscribe to the event broker.
type brokerEvents struct{ b *api.Broker }

func (e brokerEvents) Subscribe(id media.RoomID) (<-chan room.Event, func()) {
	s := e.b.Subscribe(id)
	return s.C, func() { e.b.Unsubscribe(s) }
}
