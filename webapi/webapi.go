// Package webapi serves what the web page needs beside the join API: a
// room's events as server-sent events (GET /rooms/{room}/events), the
// room's layout for admins (PUT /rooms/{room}/layout), and a participant's
// own mute state (POST /rooms/{room}/participants/{id}/mute), so the
// canvas's mute marks and every page's participant list show it.
//
// Every request is token-checked like a join (Authorize, the transport's
// front door): 401 without a valid token, 403 for another room or a
// missing grant. Events need the subscribe or admin grant, the layout the
// admin grant, a mute the participant's own token or an admin's.
package webapi

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcu-project/mcu/auth"
	"github.com/mcu-project/mcu/media"
	"github.com/mcu-project/mcu/room"
)

// Rooms is what the handlers need of the room layer (*room.Manager).
type Rooms interface {
	Room(id media.RoomID) (*room.Room, error)
	Identity(id media.RoomID, pid media.ParticipantID) (string, error)
}

// Events starts event queues (the gRPC event broker's).
type Events interface {
	// Subscribe starts a queue of room's events; the channel is closed
	// when the subscriber falls too far behind. cancel ends the queue.
	Subscribe(room media.RoomID) (events <-chan room.Event, cancel func())
}

// Authorize checks a request's bearer token for room and need, answering
// 401 or 403 itself when it fails (transport.Server.Authorize).
type Authorize func(w http.ResponseWriter, r *http.Request, room string, need auth.Grant) (auth.Claims, bool)

// Config is a Handler's dependencies.
type Config struct {
	Rooms     Rooms
	Events    Events
	Authorize Authorize
	// KeepAlive is the interval of comment lines on an idle event stream
	// (0: 15 s), so proxies keep it and a vanished client is noticed.
	KeepAlive time.Duration
}

// Handler serves the routes. Close ends every open event stream (the
// server shutting down); streams also end when their client goes.
type Handler struct {
	cfg  Config
	stop chan struct{}
	// mu orders the streams' starts (wg.Add) before Close's wait.
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// New returns the handler.
func New(cfg Config) *Handler {
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	return &Handler{cfg: cfg, stop: make(chan struct{})}
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /rooms/{room}/events", h.serveEvents)
	mux.HandleFunc("PUT /rooms/{room}/layout", h.setLayout)
	mux.HandleFunc("POST /rooms/{room}/participants/{id}/mute", h.setMute)
}

// Close ends the open event streams and waits for their handlers.
func (h *Handler) Close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.stop)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// startStream registers an event stream Close waits for; false once
// closed.
func (h *Handler) startStream() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// httpError writes a one-line plain-text reason.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(strings.ReplaceAll(msg, "\n", " ") + "\n"))
}

// roomError answers a room layer error: 404 for an unknown room or
// participant, 400 for anything else the request did wrong.
func roomError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, room.ErrUnknownRoom), errors.Is(err, room.ErrUnknownParticipant):
		httpError(w, http.StatusNotFound, err.Error())
	default:
		httpError(w, http.StatusBadRequest, err.Error())
	}
}
