package api

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RecoveryInterceptors answer a call whose handler panicked with Internal
// instead of ending the server with every room in it. They come first, so
// that they also cover the interceptors after them.
func RecoveryInterceptors(log *slog.Logger) []grpc.ServerOption {
	recovered := func(method string, v any) error {
		log.Error("gRPC handler panicked", "method", method, "panic", v, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	}
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
			defer func() {
				if v := recover(); v != nil {
					resp, err = nil, recovered(info.FullMethod, v)
				}
			}()
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = recovered(info.FullMethod, v)
				}
			}()
			return h(srv, ss)
		}),
	}
}
