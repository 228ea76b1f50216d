package transport

import "errors"

// Errors the Rooms implementation returns (wrapped) so the HTTP layer can
// choose a status code without importing the room package.
var (
	// ErrNotFound: unknown room or participant.
	ErrNotFound = errors.New("not found")
	// ErrRoomFull: the room is at its participant limit.
	ErrRoomFull = errors.New("room is full")
	// ErrUnavailable: the server is shutting down.
	ErrUnavailable = errors.New("server unavailable")
)

// Errors of offer validation; all are the client's fault (HTTP 400).
var (
	ErrBadOffer      = errors.New("malformed SDP offer")
	ErrNoAudio       = errors.New("offer has no audio m-line")
	ErrNoUsableCodec = errors.New("offer has no usable audio codec (Opus required)")
	ErrBadConfig     = errors.New("transport: bad configuration")
)

// Errors of peers and legs.
var (
	// ErrPeerClosed is returned by writes after the peer closed.
	ErrPeerClosed = errors.New("transport: peer closed")
	// ErrBadLeg wraps every reason a plain-RTP leg request is refused.
	ErrBadLeg = errors.New("bad RTP leg request")
	// ErrLegForbidden marks the ErrBadLeg refusals of a leg's remote by
	// the operator's policy (-rtp-allow): HTTP 403 rather than 400.
	ErrLegForbidden = errors.New("RTP leg remote not allowed")
	// ErrStaleICE refuses a PATCH meant for another ICE session than the
	// participant's current one (HTTP 412).
	ErrStaleICE = errors.New("stale ICE session")
	// ErrBadFragment wraps every other reason a PATCH's fragment is
	// refused (HTTP 400).
	ErrBadFragment = errors.New("bad ICE fragment")

	// errNotRTP: a plain-RTP leg got a packet that is neither RTP nor
	// RTCP (too short, or not version 2).
	errNotRTP = errors.New("transport: not an RTP version 2 packet")
)
