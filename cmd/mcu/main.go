// Command mcu is the conference server: HTTP join API and web client,
// Prometheus metrics, and the rooms that mix every participant's audio.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mcu-project/mcu/api"
	"github.com/mcu-project/mcu/codec"
	"github.com/mcu-project/mcu/codec/g711"
	"github.com/mcu-project/mcu/codec/h264"
	"github.com/mcu-project/mcu/codec/opus"
	"github.com/mcu-project/mcu/codec/vpx"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"github.com/mcu-project/mcu/web"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("mcu stopped", "err", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds how long in-flight HTTP requests may take to finish.
const shutdownTimeout = 5 * time.Second

// run serves until ctx ends, then closes every room and peer. ready, if set,
// is told the HTTP and gRPC addresses (nil without gRPC) once both listen.
func run(ctx context.Context, cfg Config, log *slog.Logger, ready func(httpAddr, grpcAddr net.Addr)) error {
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
	events := api.NewBroker()
	logEv := logEvent(log)
	onEvent := func(ev room.Event) { logEv(ev); events.Publish(ev) }
	rooms, err := room.NewManager(room.Config{Registry: &reg, Defaults: defaults, Logger: log, Metrics: newTickMetrics(prom), OnEvent: onEvent})
	if err != nil {
		return err
	}
	prom.MustRegister(newRoomCollector(rooms), newReceiverCollector(managerParticipants(rooms)))

	tc, err := cfg.transportConfig(log)
	if err != nil {
		return err
	}
	eng, err := transport.NewEngine(tc)
	if err != nil {
		return err
	}
	prom.MustRegister(newTransportCollector(eng.Stats))

	mux := http.NewServeMux()
	httpAPI := transport.NewServer(eng, roomsAdapter{rooms})
	httpAPI.Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(prom, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	web.Register(mux)
	if cfg.PProf {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown path "+r.URL.Path, http.StatusNotFound)
	})

	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		_ = eng.Close()
		return err
	}
	var grpcSrv *grpc.Server
	var grpcAddr net.Addr
	grpcDone := make(chan error, 1)
	if cfg.GRPC != "" {
		if grpcSrv, err = newGRPCServer(cfg, rooms, httpAPI, events, nil, log); err != nil {
			_ = ln.Close()
			_ = eng.Close()
			return err
		}
		gln, err := net.Listen("tcp", cfg.GRPC)
		if err != nil {
			_ = ln.Close()
			_ = eng.Close()
			return err
		}
		go func() { grpcDone <- grpcSrv.Serve(gln) }()
		grpcAddr = gln.Addr()
		log.Info("gRPC listening", "grpc", grpcAddr.String())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("mcu listening", "http", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr(), grpcAddr)
	}

	select {
	case <-ctx.Done():
	case err = <-served:
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	errs := []error{err, srv.Shutdown(sctx)}
	if err == nil {
		<-served // http.ErrServerClosed once Shutdown returned
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
	errs = append(errs, rooms.Close(), eng.Close())
	return errors.Join(errs...)
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
		Name: req.Name, Peer: req.Peer,
		RecvAudioCodec: req.RecvAudioCodec, SendAudioCodec: req.SendAudioCodec, SendAudioClockRate: req.SendAudioClockRate,
		RecvVideoCodec: req.RecvVideoCodec, SendVideoCodec: req.SendVideoCodec,
		MustExist: req.MustExist, Kind: req.Kind,
	})
	return pid, mapRoomErr(err)
}

func (a roomsAdapter) VideoCodecs(id media.RoomID) []string { return a.m.VideoCodecs(id) }

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
	case errors.Is(err, room.ErrClosed):
		return kindError{transport.ErrUnavailable, err}
	}
	return err
}

// kindError marks err with a transport sentinel (for the status code)
// while its message stays err's own, so clients read one reason, not two.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }
