package api_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/mcu-project/mcu/api"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// panickyHealth is a health service whose Check panics, as a handler's
// bug would.
type panickyHealth struct{ *health.Server }

func (panickyHealth) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	panic("handler bug")
}

// TestRecoveryInterceptors: a panicking handler answers Internal, and the
// server goes on answering.
func TestRecoveryInterceptors(t *testing.T) {
	srv := grpc.NewServer(api.RecoveryInterceptors(slog.New(slog.NewTextHandler(io.Discard, nil)))...)
	healthpb.RegisterHealthServer(srv, panickyHealth{health.NewServer()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	for range 2 {
		_, err := c.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if status.Code(err) != codes.Internal {
			t.Fatalf("a panicking handler answered %v, want Internal", err)
		}
	}
}
