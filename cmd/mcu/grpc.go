package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/mcu-project/mcu/api"
	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
	"github.com/mcu-project/mcu/transport"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// newGRPCServer builds the control plane: the mcu.v1 service over the
// whole cluster, the standard health service and server reflection, with
// the token and TLS the configuration asks for.
func newGRPCServer(cfg Config, capi *clusterAPI, log *slog.Logger) (*grpc.Server, error) {
	opts := api.RecoveryInterceptors(log)
	if cfg.GRPCToken != "" {
		opts = append(opts, api.TokenInterceptors(cfg.GRPCToken)...)
	}
	opts = append(opts, grpc.ChainUnaryInterceptor(capi.unary), grpc.ChainStreamInterceptor(capi.stream))
	if cfg.GRPCCert != "" || cfg.GRPCKey != "" {
		creds, err := grpcTLS(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(creds))
	} else if cfg.GRPCClientCA != "" {
		return nil, errors.New("grpc-client-ca needs grpc-cert and grpc-key")
	}
	srv := grpc.NewServer(opts...)
	mcuv1.RegisterMCUServer(srv, capi)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(mcuv1.MCU_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return srv, nil
}

func grpcTLS(cfg Config) (credentials.TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(cfg.GRPCCert, cfg.GRPCKey)
	if err != nil {
		return nil, fmt.Errorf("gRPC TLS: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.GRPCClientCA != "" {
		pem, err := os.ReadFile(cfg.GRPCClientCA)
		if err != nil {
			return nil, fmt.Errorf("gRPC client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("gRPC client CA %s: no certificates", cfg.GRPCClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(tc), nil
}

// apiRooms gives the API the room manager plus the transport's plain-RTP
// legs, with the transport's errors mapped to the room's.
type apiRooms struct {
	*room.Manager
	http *transport.Server
}

func (a apiRooms) CreateRTPLeg(id media.RoomID, remote, codec, name string) (media.ParticipantID, string, error) {
	pid, local, err := a.http.CreateRTPLeg(id, remote, codec, name)
	switch {
	case errors.Is(err, transport.ErrBadLeg):
		return "", "", fmt.Errorf("%w: %w", room.ErrBadOptions, err)
	case errors.Is(err, transport.ErrNotFound):
		return "", "", fmt.Errorf("%w: %w", room.ErrUnknownRoom, err)
	case errors.Is(err, transport.ErrRoomFull): // the room's cap of legs, too
		return "", "", kindError{room.ErrRoomFull, err}
	}
	return pid, local, err
}
