package api

import (
	"context"
	"fmt"

	mcuv1 "github.com/mcu-project/mcu/api/mcu/v1"
	"github.com/mcu-project/mcu/auth"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// CreateToken implements mcuv1.MCUServer: it mints a join token with the
// server's secret.
func (s *Server) CreateToken(_ context.Context, req *mcuv1.CreateTokenRequest) (*mcuv1.Token, error) {
	if s.tokens == nil {
		return nil, status.Error(codes.FailedPrecondition, "auth is off: start mcu with -auth-secret")
	}
	// A token for a room that could never exist would admit nobody.
	if req.GetRoom() != auth.AnyRoom {
		if _, err := roomID(req.GetRoom()); err != nil {
			return nil, toStatus(fmt.Errorf("%w (or %q for every room)", err, auth.AnyRoom))
		}
	}
	ttl := auth.DefaultTTL
	if req.Ttl != nil {
		if err := req.GetTtl().CheckValid(); err != nil {
			return nil, toStatus(badArg("ttl: %v", err))
		}
		ttl = req.GetTtl().AsDuration()
	}
	grants := auth.DefaultGrants()
	if g := req.GetGrants(); g != nil {
		grants = auth.Grants{Publish: g.GetPublish(), Subscribe: g.GetSubscribe(), Admin: g.GetAdmin(), Hidden: g.GetHidden()}
	}
	c := auth.Claims{Identity: req.GetIdentity(), Room: req.GetRoom(), Name: req.GetName(), Grants: grants}
	tok, exp, err := s.tokens.MintTTL(c, ttl)
	if err != nil {
		return nil, toStatus(err)
	}
	return &mcuv1.Token{Token: tok, ExpiresAt: timestamppb.New(exp), Identity: c.Identity, Room: c.Room}, nil
}

// GrantsToProto converts grants to their mcu.v1 form.
func GrantsToProto(g auth.Grants) *mcuv1.Grants {
	return &mcuv1.Grants{Publish: g.Publish, Subscribe: g.Subscribe, Admin: g.Admin, Hidden: g.Hidden}
}
